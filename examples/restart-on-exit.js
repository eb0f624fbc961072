'use strict';

// From the Node v12 reference (cluster 'exit' event): when a worker dies the
// primary logs it and forks a replacement.
//
// In the original the replacement runs forever. Here every worker crashes
// on purpose (exit code 1) shortly after it starts, and by default the
// primary restarts at most 3 times, then gives up and ends by itself.
// `--forever` keeps restarting (and crashing) until interrupted.

const cluster = require('rust-cluster');

const FOREVER = process.argv.includes('--forever');
const MAX_RESTARTS = 3;

if (cluster.isMaster) {
  let restarts = 0;
  cluster.on('exit', (worker, code, signal) => {
    if (!FOREVER && restarts === MAX_RESTARTS) {
      console.log('worker (pid %d) died (%s). giving up after %d restarts',
                  worker.process.pid, signal || code, restarts);
      return;
    }
    console.log('worker (pid %d) died (%s). restarting...',
                worker.process.pid, signal || code);
    restarts++;
    cluster.fork();
  });
  cluster.on('online', (worker) => console.log(`worker #${worker.id} is online`));
  cluster.fork();
} else {
  // Crash a moment after starting.
  setTimeout(() => process.exit(1), 50);
}
