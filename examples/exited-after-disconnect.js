'use strict';

// worker.exitedAfterDisconnect tells a voluntary exit from an accidental one.
// Combines the "Worker object" tutorial (worker.on('exit') after the primary
// calls worker.disconnect()) and the Node v12 reference (cluster.on('exit')
// checking exitedAfterDisconnect, then worker.kill()).
//
// Three workers, one after the other:
//   1. the primary calls worker.disconnect()  -> exitedAfterDisconnect true
//   2. the primary calls worker.kill()        -> on Node 20 kill() only sends
//      SIGTERM, so exitedAfterDisconnect is false (the v12 text says true)
//   3. the worker "crashes" (exits with code 1 by itself) -> false
// Before a worker exits the property is undefined; that is printed too.
// The originals end by themselves once their workers are gone; so does this.

const cluster = require('rust-cluster');

if (cluster.isMaster) {
  cluster.on('exit', (worker, code, signal) => {
    if (worker.exitedAfterDisconnect === true) {
      console.log(`cluster 'exit': worker #${worker.id} left voluntarily, no need to worry`);
    } else {
      console.log(`cluster 'exit': worker #${worker.id} exited unexpectedly (code=${code}, signal=${signal})`);
    }
  });

  const plans = ['disconnect', 'kill', 'crash'];
  const next = () => {
    const plan = plans.shift();
    if (!plan) return;
    const worker = cluster.fork({ PLAN: plan });
    console.log(`worker #${worker.id} (${plan}): exitedAfterDisconnect before exit = ${worker.exitedAfterDisconnect}`);

    worker.on('exit', (code, signal) => {
      if (worker.exitedAfterDisconnect === true) {
        console.log(`worker #${worker.id} (${plan}) exited gracefully`);
      } else {
        console.log(`worker #${worker.id} (${plan}) crashed or was killed`);
        // A supervisor could restart the worker here.
      }
      // Fork the next one after the cluster-level 'exit' listeners ran.
      setImmediate(next);
    });

    worker.on('online', () => {
      if (plan === 'disconnect') {
        // Disconnect the worker on purpose.
        worker.disconnect();
      } else if (plan === 'kill') {
        worker.kill();
      } else {
        worker.send('crash now');
      }
    });
  };
  next();
} else {
  // Worker code: stay alive until told otherwise.
  process.on('message', (msg) => {
    if (msg === 'crash now') {
      // Simulate a crash: exit with a failure code, without a disconnect.
      process.exit(1);
    }
  });
}
