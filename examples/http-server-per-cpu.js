'use strict';

// From the Node v12 cluster reference (introduction): the primary forks one
// worker per CPU and all workers share one HTTP port.
//
// The original runs until interrupted. By default this version runs bounded:
// once every worker listens, the primary makes two HTTP requests per worker to
// 127.0.0.1, prints the answers, then disconnects the workers and exits.
// `node examples/http-server-per-cpu.js --forever` behaves like the original.
//
// Port: env PORT, default 8000 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');
const numCPUs = require('os').cpus().length;

const PORT = Number(process.env.PORT) || 8000;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  console.log(`Primary (pid ${process.pid}) is running`);

  // Fork workers.
  for (let i = 0; i < numCPUs; i++) {
    cluster.fork();
  }

  cluster.on('exit', (worker, code, signal) => {
    console.log(`worker (pid ${worker.process.pid}) died`);
  });

  if (!FOREVER) selfCheck();
} else {
  // Workers can share any TCP connection.
  // In this case it is an HTTP server.
  http.createServer((req, res) => {
    res.writeHead(200);
    res.end('hello world\n');
  }).listen(PORT);

  console.log(`Worker (pid ${process.pid}) started`);
}

// Bounded mode: request, print the answers, shut down.
function selfCheck() {
  let listening = 0;
  cluster.on('listening', async () => {
    if (++listening !== numCPUs) return;
    for (let i = 1; i <= 2 * numCPUs; i++) {
      const body = await get(PORT);
      console.log(`answer ${i}: ${body.trim()}`);
    }
    cluster.disconnect(() => console.log('all workers disconnected'));
  });
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
