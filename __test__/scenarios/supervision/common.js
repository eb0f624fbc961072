'use strict';
// Shared pieces of the supervision scenarios: a free port, forking app.js workers and waiting
// until they listen, one HTTP GET, a JSON line out, and a watchdog.
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const cluster = require('../../helpers/impl');
const { freePort } = require('../../helpers/ports');

const APP = path.join(__dirname, 'app.js');

function watchdog(ms) {
  setTimeout(() => { out({ error: 'timeout' }); process.exit(2); }, ms).unref();
}

function out(result) {
  console.log(JSON.stringify(result));
}

// A file whose content app.js reads at start-up to decide how to behave.
function modeFile(content = '') {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rc-sv-')), 'mode');
  fs.writeFileSync(file, content);
  return file;
}

// Forks `count` app.js workers on `port` and resolves once all listen.
function forkApps(count, env) {
  cluster.setupPrimary({ exec: APP });
  return new Promise((resolve) => {
    const workers = [];
    let n = 0;
    const onListening = () => {
      if (++n === count) {
        cluster.off('listening', onListening);
        resolve(workers);
      }
    };
    cluster.on('listening', onListening);
    for (let i = 0; i < count; i++) workers.push(cluster.fork(env));
  });
}

function get(port, urlPath = '/') {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, pid: JSON.parse(body).pid }));
    }).on('error', (err) => resolve({ error: err.code }));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

module.exports = { cluster, watchdog, out, freePort, modeFile, forkApps, get, sleep, alive };
