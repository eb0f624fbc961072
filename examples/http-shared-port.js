'use strict';

// From the process/IPC/cluster notes: one worker per CPU, all serving HTTP on
// the same port; each response names the worker process that handled it.
//
// The original runs until interrupted. By default this version makes two
// requests per worker itself (127.0.0.1), prints the answers, then
// disconnects the workers and exits. `--forever` behaves like the original.
//
// Port: env PORT, default 8000 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');
const count = require('os').cpus().length;

const PORT = Number(process.env.PORT) || 8000;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  // Fork the workers.
  for (let i = 0; i < count; i++) {
    cluster.fork();
  }

  if (!FOREVER) {
    let listening = 0;
    cluster.on('listening', async () => {
      if (++listening !== count) return;
      for (let i = 1; i <= 2 * count; i++) {
        console.log(`answer ${i}: ${await get(PORT)}`);
      }
      cluster.disconnect(() => console.log('all workers disconnected'));
    });
  }
} else {
  console.log(`worker process (pid ${process.pid}) started`);
  // Workers can share any TCP connection.
  // In this example, they share an HTTP server.
  http.createServer((_, res) => res.end(`worker process (pid ${process.pid}) handled the request`)).listen(PORT);
}

// One GET on a fresh connection (no keep-alive, so workers can exit at once).
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
