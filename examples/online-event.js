'use strict';

// 'online' on the worker and on the cluster: from the "Worker object" tutorial
// (worker.on('online')), the process/child_process/cluster tutorial
// (cluster.on('online'), worker.on('online') with an HTTP server in the worker)
// and the Node v12 reference ('fork' vs 'online': 'fork' is emitted when the
// primary forks the worker, 'online' when the worker is running).
//
// The originals run forever. By default this version makes one HTTP request
// (127.0.0.1) to the worker, prints the answer, then disconnects it and exits.
// `--forever` keeps serving.
//
// Port: env PORT, default 8080.

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8080;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  console.log(`primary (pid ${process.pid}) is running`);

  cluster.on('fork', (worker) => {
    console.log(`'fork': worker #${worker.id} was forked`);
  });
  cluster.on('online', (worker) => {
    console.log('Yay, the worker responded after it was forked');
  });

  // Create a worker
  const worker = cluster.fork();
  console.log('this code runs in the primary');

  // Listen for the online event
  worker.on('online', () => {
    console.log(`worker #${worker.id} (pid ${worker.process.pid}) is online`);
  });

  if (!FOREVER) {
    worker.on('listening', async () => {
      const body = await get(PORT);
      console.log(`HTTP answer: ${body}`);
      worker.disconnect();
    });
  }
} else {
  // The worker's code goes here
  console.log(`worker (pid ${process.pid}) started`);
  http.createServer(function (req, res) {
    if (req.url !== '/favicon.ico') {
      let sum = 0;
      for (let i = 0; i < 1000000; i++) {
        sum += i;
      }
      res.end('ok');
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
