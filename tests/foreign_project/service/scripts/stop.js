'use strict';
// Stops the shopfront started with `npm start`: SIGTERM to the pid in PID_FILE, wait (max 10 s).
const fs = require('node:fs');
const path = require('node:path');

const SERVICE_DIR = path.resolve(__dirname, '..');
const PID_FILE = path.resolve(SERVICE_DIR, process.env.PID_FILE || '../var/run/shopfront.pid');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function removePidFile() {
  try { fs.unlinkSync(PID_FILE); } catch (_) { /* gone */ }
}

async function main() {
  let pid;
  try {
    pid = Number(fs.readFileSync(PID_FILE, 'utf8').trim());
  } catch (_) {
    console.log(`shopfront: not running (no ${PID_FILE})`);
    return 0;
  }
  if (!Number.isInteger(pid) || pid < 2 || !alive(pid)) {
    console.log(`shopfront: not running (stale pid file ${PID_FILE})`);
    removePidFile();
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      console.error(`shopfront: pid ${pid} still running 10 s after SIGTERM`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  removePidFile();
  console.log(`shopfront: stopped (pid ${pid})`);
  return 0;
}

main().then((code) => process.exit(code));
