'use strict';

// From the Node v12 reference (cluster.workers): go through all workers with
// an eachWorker() helper and send each the same announcement. Each worker
// acknowledges; once all have, the primary disconnects them and exits.

const cluster = require('rust-cluster');
const numCPUs = require('os').cpus().length;

if (cluster.isMaster) {
  for (let i = 0; i < numCPUs; i++) cluster.fork();

  // Go through all workers
  function eachWorker(callback) {
    for (const id in cluster.workers) {
      callback(cluster.workers[id]);
    }
  }

  let online = 0;
  cluster.on('online', () => {
    if (++online !== numCPUs) return;
    eachWorker((worker) => {
      worker.send('big announcement to all workers');
    });
  });

  let acks = 0;
  cluster.on('message', (worker, message) => {
    console.log(`worker #${worker.id} answered: ${message}`);
    if (++acks === numCPUs) {
      cluster.disconnect(() => console.log('all workers disconnected'));
    }
  });
} else {
  process.on('message', (msg) => {
    process.send(`got "${msg}"`);
  });
}
