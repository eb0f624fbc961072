'use strict';

// From the process/IPC/cluster notes: setupMaster() and fork() taken out of
// the module by destructuring (so they must work unbound), with the worker
// code in its own file (examples/workers/worker.js), which keeps primary and
// worker code apart. One worker per CPU; each says hello and disconnects, so
// this ends by itself.

const { setupMaster, fork } = require('rust-cluster');
const path = require('path');
const cpus = require('os').cpus().length;

setupMaster({
  exec: path.join(__dirname, 'workers', 'worker.js'),
});
for (let i = 0; i < cpus; i++) {
  fork();
}
