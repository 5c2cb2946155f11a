'use strict';
// shopfront: catalog search and ordering API. node:http + pg, nothing else.
//
// Environment:
//   PORT          port to listen on (default 3000), always on 127.0.0.1 unless HOST is set
//   DATABASE_URL  postgres://user:password@host:port/db (required)
//   LOG_FILE      JSON-lines log (default ../var/log/shopfront.jsonl relative to service/)
//   PID_FILE      pid file written on listen, removed on exit (default ../var/run/shopfront.pid)

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { Pool } = require('pg');

const SERVICE_DIR = path.resolve(__dirname, '..');
const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || '127.0.0.1';
const LOG_FILE = path.resolve(SERVICE_DIR, process.env.LOG_FILE || '../var/log/shopfront.jsonl');
const PID_FILE = path.resolve(SERVICE_DIR, process.env.PID_FILE || '../var/run/shopfront.pid');

fs.mkdirSync(path.dirname(LOG_FILE), { recursive: true });
fs.mkdirSync(path.dirname(PID_FILE), { recursive: true });
const logStream = fs.createWriteStream(LOG_FILE, { flags: 'a' });

function log(lvl, msg, fields) {
  const line = JSON.stringify({ ts: new Date().toISOString(), lvl, msg, ...(fields || {}) });
  logStream.write(line + '\n');
}

if (!process.env.DATABASE_URL) {
  console.error('shopfront: DATABASE_URL is not set');
  process.exit(2);
}

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10, application_name: 'shopfront' });
pool.on('error', (err) => log('error', 'idle database client failed', { error: err.message }));

// ------------------------------------------------------------------------------------ handlers

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function search(req, res, url) {
  const q = url.searchParams.get('q') || '';
  // Alphabetical, first 20. (No index on name: every call reads the whole table.)
  const { rows } = await pool.query(
    'SELECT id, name, price_cents FROM products WHERE name ILIKE $1 ORDER BY name LIMIT 20',
    ['%' + q + '%'],
  );
  sendJson(res, 200, { q, items: rows });
  return 200;
}

async function product(req, res, url, id) {
  const { rows } = await pool.query('SELECT id, name, price_cents, created_at FROM products WHERE id = $1', [id]);
  if (rows.length === 0) {
    sendJson(res, 404, { error: 'no such product' });
    return 404;
  }
  sendJson(res, 200, rows[0]);
  return 200;
}

async function createOrder(req, res) {
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    if (err.status) throw err;
    sendJson(res, 400, { error: 'body must be JSON: {"productId": 1, "qty": 2}' });
    return 400;
  }
  const productId = Number(body && body.productId);
  const qty = Number(body && body.qty);
  if (!Number.isInteger(productId) || productId < 1 || !Number.isInteger(qty) || qty < 1 || qty > 100) {
    sendJson(res, 400, { error: 'productId must be a positive integer and qty 1..100' });
    return 400;
  }
  try {
    const { rows } = await pool.query(
      'INSERT INTO orders (product_id, qty) VALUES ($1, $2) RETURNING id, product_id, qty, created_at',
      [productId, qty],
    );
    sendJson(res, 201, rows[0]);
    return 201;
  } catch (err) {
    if (err.code === '23503') {
      sendJson(res, 422, { error: 'no such product' });
      return 422;
    }
    throw err;
  }
}

async function recentOrders(req, res) {
  // The reporting query: a literal interval (pg_stat_statements keeps it as `interval $1`), and the
  // pg_sleep stands in for the expensive aggregation the real report does (a sub-select, so it runs
  // once per query and not once per row).
  const { rows } = await pool.query(
    "SELECT count(*) AS orders, sum(qty) AS items FROM orders " +
    "WHERE created_at > now() - interval '30 days' AND (SELECT pg_sleep(0.12)) IS NOT NULL",
  );
  sendJson(res, 200, { orders: Number(rows[0].orders), items: Number(rows[0].items || 0) });
  return 200;
}

function flaky(req, res, url) {
  const rate = Math.min(1, Math.max(0, Number(url.searchParams.get('rate') || 0)));
  if (Math.random() < rate) {
    req.socket.destroy();
    return 'reset';
  }
  sendJson(res, 200, { ok: true });
  return 200;
}

async function route(req, res, url) {
  const p = url.pathname;
  if (req.method === 'GET' && p === '/healthz') {
    sendJson(res, 200, { ok: true });
    return ['/healthz', 200];
  }
  if (req.method === 'GET' && p === '/api/catalog/search') return ['/api/catalog/search', await search(req, res, url)];
  if (req.method === 'POST' && p === '/api/orders') return ['/api/orders', await createOrder(req, res)];
  if (req.method === 'GET' && p === '/api/reports/recent-orders') {
    return ['/api/reports/recent-orders', await recentOrders(req, res)];
  }
  if (req.method === 'GET' && p === '/api/flaky') return ['/api/flaky', flaky(req, res, url)];
  const m = /^\/api\/catalog\/(\d+)$/.exec(p);
  if (req.method === 'GET' && m) return ['/api/catalog/:id', await product(req, res, url, Number(m[1]))];
  sendJson(res, 404, { error: 'not found' });
  return [p, 404];
}

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  const url = new URL(req.url, 'http://localhost');
  const done = (routeName, status, error) => {
    const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
    const fields = { route: routeName, method: req.method, status, ms };
    if (status === 'reset') {
      log('warn', 'connection reset on purpose', { ...fields, status: 0 });
    } else if (status >= 500) {
      log('error', error ? `request failed: ${error}` : 'request failed', fields);
    } else {
      log(status >= 400 ? 'warn' : 'info', `${req.method} ${url.pathname}`, fields);
    }
  };
  route(req, res, url).then(
    ([routeName, status]) => done(routeName, status),
    (err) => {
      const status = err.status || 500;
      if (!res.headersSent) sendJson(res, status, { error: status === 500 ? 'internal error' : err.message });
      done(url.pathname, status, err.message);
    },
  );
});
server.keepAliveTimeout = 5000;

// ---------------------------------------------------------------------------------- lifecycle

let stopping = false;
function removePidFile() {
  try {
    if (fs.readFileSync(PID_FILE, 'utf8').trim() === String(process.pid)) fs.unlinkSync(PID_FILE);
  } catch (_) { /* already gone */ }
}

function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log('info', `received ${signal}, shutting down`);
  const force = setTimeout(() => {
    log('warn', 'shutdown took longer than 8 s, exiting anyway');
    removePidFile();
    process.exit(1);
  }, 8000);
  force.unref();
  server.close(() => {
    pool.end().finally(() => {
      log('info', 'stopped');
      removePidFile();
      logStream.end(() => process.exit(0));
    });
  });
  server.closeIdleConnections();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('exit', removePidFile);

async function main() {
  const sql = fs.readFileSync(path.join(__dirname, 'migrate.sql'), 'utf8');
  const t0 = Date.now();
  await pool.query(sql);
  log('info', 'migrations applied', { ms: Date.now() - t0 });
  server.listen(PORT, HOST, () => {
    fs.writeFileSync(PID_FILE, String(process.pid) + '\n');
    log('info', `listening on http://${HOST}:${server.address().port}`, { pid: process.pid });
  });
}

main().catch((err) => {
  log('error', 'start-up failed', { error: err.message });
  console.error(`shopfront: start-up failed: ${err.message}`);
  pool.end().finally(() => logStream.end(() => process.exit(1)));
});
