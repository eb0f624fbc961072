'use strict';

// From the process/child_process/cluster tutorial (running servers in
// workers): two workers serve HTTP on one port; the primary accepts each
// connection and hands it to a free worker, so consecutive requests
// alternate between the workers (round-robin, the default scheduling policy
// on Linux). Each answer names the worker that computed it.
//
// The original serves forever. By default this version makes six requests
// itself (127.0.0.1, one after the other, each on a new connection), prints
// the answers and how many each worker handled, then disconnects the workers
// and exits. `--forever` behaves like the original.
//
// Port: env PORT, default 8080 (as in the original).

const cluster = require('rust-cluster');
const http = require('http');

const PORT = Number(process.env.PORT) || 8080;
const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  cluster.fork();
  cluster.fork();
  console.log(`scheduling policy: ${cluster.schedulingPolicy === cluster.SCHED_RR ? 'SCHED_RR' : 'SCHED_NONE'}`);

  if (!FOREVER) {
    let listening = 0;
    cluster.on('listening', async () => {
      if (++listening !== 2) return;
      const handledBy = {};
      const order = [];
      for (let i = 1; i <= 6; i++) {
        const body = await get(PORT);
        const id = /worker (\d+)/.exec(body)[1];
        handledBy[id] = (handledBy[id] || 0) + 1;
        order.push(id);
        console.log(`answer ${i}: ${body.replace(/worker \d+/g, 'worker N')}`);
      }
      for (const id of Object.keys(handledBy).sort()) {
        console.log(`worker ${id} handled ${handledBy[id]} requests`);
      }
      const alternates = order.every((id, i) => i === 0 || id !== order[i - 1]);
      console.log(`requests alternated between the workers: ${alternates}`);
      cluster.disconnect(() => console.log('all workers disconnected'));
    });
  }
} else {
  http.createServer(function (req, res) {
    if (req.url !== '/favicon.ico') {
      let sum = 0;
      for (let i = 0; i < 1000000; i++) {
        sum += i;
      }
      res.writeHead(200);
      res.write(`the client request was handled in worker ${cluster.worker.id}; `);
      res.end(`result computed in worker ${cluster.worker.id} = ${sum}`);
    }
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
