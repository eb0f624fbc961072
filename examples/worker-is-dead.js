'use strict';

// From the Node v12 reference (worker.isDead()): each worker answers one HTTP
// request with its pid and then kills itself with process.kill(process.pid)
// (SIGTERM). The 'fork' listener sees a live worker, the 'exit' listener a
// dead one.
//
// The original waits for requests from outside. By default this version
// makes one request per worker itself (127.0.0.1, one at a time, waiting for
// each worker to die before the next request); once every worker is dead the
// primary has nothing left to do and exits by itself.
// `--forever` waits for outside requests instead.
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

  cluster.on('fork', (worker) => {
    console.log('worker is dead:', worker.isDead());
  });

  cluster.on('exit', (worker, code, signal) => {
    console.log('worker is dead:', worker.isDead());
    if (!FOREVER) {
      console.log(`worker #${worker.id} exited: code=${code} signal=${signal}`);
      onExit();
    }
  });

  // Bounded mode.
  let listening = 0;
  let exits = 0;
  let waitingForExit = null;
  function onExit() {
    exits++;
    if (waitingForExit) waitingForExit();
  }
  if (!FOREVER) {
    cluster.on('listening', async () => {
      if (++listening !== numCPUs) return;
      for (let i = 1; i <= numCPUs; i++) {
        const died = new Promise((resolve) => { waitingForExit = resolve; });
        const body = await get(PORT);
        console.log(`answer ${i}: ${body.replace(/\s+/g, ' ').trim()}`);
        await died;
      }
      console.log(`all ${exits} workers are dead`);
    });
  }
} else {
  // Workers can share any TCP connection. In this case, it is an HTTP server.
  http.createServer((req, res) => {
    res.writeHead(200);
    res.end(`Current process\n pid ${process.pid}`);
    process.kill(process.pid);
  }).listen(PORT);
}

// One GET on a fresh connection (no keep-alive).
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
