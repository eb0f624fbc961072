'use strict';

// `npm start`: a short tour of rust-cluster.
// The primary forks one worker per CPU; every worker serves HTTP on the same port (env PORT,
// default 8000), shared through the primary. Once all of them listen, the primary makes two
// requests per worker on 127.0.0.1 and prints how many each answered (round-robin: in turn), then
// disconnects the workers and exits with code 0 (1 if anything failed).

const cluster = require('rust-cluster');
const http = require('http');
const os = require('os');

const PORT = Number(process.env.PORT) || 8000;
const numCPUs = os.availableParallelism ? os.availableParallelism() : os.cpus().length;

if (cluster.isPrimary) {
  console.log(`primary (pid ${process.pid}): forking ${numCPUs} workers`);
  for (let i = 0; i < numCPUs; i++) cluster.fork();

  let listening = 0;
  cluster.on('listening', (worker, address) => {
    console.log(`worker #${worker.id} is listening on port ${address.port}`);
    if (++listening === numCPUs) askAround(2 * numCPUs);
  });

  cluster.on('exit', (worker, code, signal) => {
    console.log(`worker #${worker.id} exited (code ${code}${signal ? `, signal ${signal}` : ''})`);
    if (code !== 0) process.exitCode = 1;
  });

  async function askAround(count) {
    const tally = new Map();
    try {
      for (let i = 1; i <= count; i++) {
        const worker = (await get(PORT)).split(' ')[3];
        tally.set(worker, (tally.get(worker) || 0) + 1);
      }
      for (const [worker, n] of [...tally].sort()) console.log(`worker ${worker} answered ${n} of ${count} requests`);
      console.log(`all ${numCPUs} workers answered: ${tally.size === numCPUs}`);
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
  }).listen(PORT, '127.0.0.1');
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
