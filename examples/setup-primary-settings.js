'use strict';

// From the process/child_process/cluster tutorial (setupMaster): workers run
// the module given as `exec` (examples/workers/subtask.js, an HTTP server)
// instead of the primary's main module, and cluster.settings shows the
// settings in force.
//
// The original serves forever. By default this version requests the worker's
// server once (127.0.0.1), prints the answer, then disconnects the worker and
// exits. `--forever` behaves like the original.
//
// Port: env PORT, default 8080 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');
const path = require('path');

const PORT = Number(process.env.PORT) || 8080;
const FOREVER = process.argv.includes('--forever');

cluster.setupMaster({
  exec: path.join(__dirname, 'workers', 'subtask.js'),
});
const worker = cluster.fork();
console.log('this code runs in the primary');
console.log('cluster.settings: %j', cluster.settings);

if (!FOREVER) {
  worker.on('listening', async () => {
    const body = await get(PORT);
    console.log(`HTTP answer: ${body}`);
    worker.disconnect();
  });
  worker.on('exit', (code, signal) => console.log(`worker exited: code=${code} signal=${signal}`));
}

// One GET on a fresh connection (no keep-alive, so the worker can exit at once).
function get(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
