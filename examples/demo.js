'use strict';

// `npm start`: a short tour of rust-cluster.
// The primary forks one worker per CPU; worker #N serves HTTP on port
// PORT + N - 1 (env PORT, default 8000). Once every worker listens, the
// primary sends one request to each port on 127.0.0.1, prints who answered,
// then disconnects all workers and exits with code 0 (1 if anything failed).

const cluster = require('rust-cluster');
const http = require('http');
const os = require('os');

const PORT = Number(process.env.PORT) || 8000;
const numCPUs = os.availableParallelism ? os.availableParallelism() : os.cpus().length;

if (cluster.isPrimary) {
  console.log(`primary (pid ${process.pid}): forking ${numCPUs} workers`);
  for (let i = 0; i < numCPUs; i++) cluster.fork();

  const ports = [];
  cluster.on('listening', (worker, address) => {
    console.log(`worker #${worker.id} is listening on port ${address.port}`);
    ports.push(address.port);
    if (ports.length === numCPUs) askEveryone(ports.sort((a, b) => a - b));
  });

  cluster.on('exit', (worker, code, signal) => {
    console.log(`worker #${worker.id} exited (code ${code}${signal ? `, signal ${signal}` : ''})`);
    if (code !== 0) process.exitCode = 1;
  });

  async function askEveryone(sortedPorts) {
    try {
      for (const port of sortedPorts) {
        const body = await get(port);
        console.log(`port ${port}: ${body}`);
      }
    } catch (err) {
      console.error(`request failed: ${err.message}`);
      process.exitCode = 1;
    }
    cluster.disconnect(() => console.log('all workers disconnected; the primary exits'));
  }
} else {
  const id = cluster.worker.id;
  http.createServer((req, res) => {
    res.end(`answered by worker #${id} (pid ${process.pid})`);
  }).listen(PORT + id - 1, '127.0.0.1');
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
