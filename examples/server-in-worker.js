'use strict';

// From the process/child_process/cluster tutorial (running a server in a
// worker): the primary forks one worker, which serves HTTP; each part prints
// where it runs.
//
// The original serves forever. By default this version requests the worker's
// server once (127.0.0.1), prints the answer, then disconnects the worker and
// exits. `--forever` behaves like the original.
//
// Port: env PORT, default 8080 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8080;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  const worker = cluster.fork();
  console.log('this code runs in the primary');

  if (!FOREVER) {
    worker.on('listening', async () => {
      console.log(`HTTP answer: ${await get(PORT)}`);
      worker.disconnect();
    });
  }
} else {
  http.createServer(function (req, res) {
    if (req.url !== '/favicon.ico') {
      res.end('hello');
      console.log('this code runs in the worker');
    }
  }).listen(PORT);
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
