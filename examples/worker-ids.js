'use strict';

// cluster.worker and cluster.workers: from the Node v12 reference
// (cluster.worker: "I am worker #id") and the process/child_process/cluster
// tutorial (looping over cluster.workers; cluster.worker.id in a worker).
// The tutorial printed each whole Worker object; this version prints the id,
// the pid and the state of each, which is what one looks for.
// Each worker prints its id and disconnects itself, so this ends by itself.

const cluster = require('rust-cluster');

if (cluster.isMaster) {
  console.log('I am the primary');
  console.log(`cluster.worker in the primary: ${cluster.worker}`);
  cluster.fork();
  cluster.fork();

  for (const index in cluster.workers) {
    const worker = cluster.workers[index];
    console.log(`cluster.workers[${index}]: id=${worker.id} pid ${worker.process.pid} connected=${worker.isConnected()} dead=${worker.isDead()}`);
  }

  cluster.on('exit', (worker, code, signal) => {
    console.log(`worker #${worker.id} exited (code=${code}); still in cluster.workers: ${worker.id in cluster.workers}`);
  });
} else if (cluster.isWorker) {
  console.log(`I am worker #${cluster.worker.id}`);
  console.log(`cluster.workers in a worker: ${cluster.workers}`);
  cluster.worker.disconnect();
}
