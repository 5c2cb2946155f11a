const fs = require('fs');
const path = require('path');
const express = require('express');
const morgan = require('morgan');
const pino = require('pino');

const PORT = process.env.PORT || 4000;
const LOG_DIR = process.env.LOG_DIR || path.join(__dirname, '..', 'logs');

const logger = pino(pino.destination(path.join(LOG_DIR, 'app.log')));
const app = express();
app.use(morgan('combined', { stream: fs.createWriteStream(path.join(LOG_DIR, 'access.log'), { flags: 'a' }) }));
app.get('/health', (req, res) => res.json({ ok: true }));
app.get('/accounts/:id', (req, res) => res.json({ id: req.params.id }));
app.listen(PORT, () => logger.info({ port: PORT }, 'listening'));
