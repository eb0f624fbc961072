'use strict';

// From the Node v12 cluster reference (worker.send()): the worker echoes back
// every message the primary sends it.
//
// The original never ends (the worker keeps listening for messages). By
// default this version runs bounded: the primary prints the echo it gets
// back, sends a few more messages of other types (object, number, array),
// prints their echoes, then disconnects the worker and exits.
// `node examples/worker-send-echo.js --forever` behaves like the original.

const cluster = require('rust-cluster');

const FOREVER = process.argv.includes('--forever');

if (cluster.isMaster) {
  const worker = cluster.fork();
  worker.send('hi there');

  if (!FOREVER) {
    const more = [{ greeting: 'hello', nested: { list: [1, 2, 3] } }, 42, ['a', 'b'], 'bye'];
    worker.on('message', (msg) => {
      console.log(`primary got echo: ${JSON.stringify(msg)}`);
      if (more.length > 0) {
        worker.send(more.shift());
      } else {
        worker.disconnect();
      }
    });
    worker.on('exit', (code, signal) => {
      console.log(`worker exited: code=${code} signal=${signal}`);
    });
  }
} else if (cluster.isWorker) {
  process.on('message', (msg) => {
    process.send(msg);
  });
}
