'use strict';

// From the process/child_process/cluster tutorial (worker.send()): the worker
// runs a separate program (examples/workers/child.js, set with
// setupMaster({ exec })); the primary sends it a message, prints the answer
// and exits with process.exit(), which also ends the worker (it loses its IPC
// channel and exits). Runs as the original; it ends by itself.

const cluster = require('rust-cluster');
const path = require('path');

cluster.setupMaster({
  exec: path.join(__dirname, 'workers', 'child.js'),
});
const worker = cluster.fork();
worker.on('message', function (m) {
  console.log('primary received a message:', m);
  process.exit();
});
worker.send({
  name: 'zfpx',
});
