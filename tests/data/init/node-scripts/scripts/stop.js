const fs = require('fs');
process.kill(Number(fs.readFileSync('ledger.pid', 'utf8')), 'SIGTERM');
