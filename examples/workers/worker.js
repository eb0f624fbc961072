'use strict';

// Worker program of examples/setup-primary-destructured.js (the notes'
// "worker.js", whose content they do not show): says hello, then leaves.

const cluster = require('rust-cluster');

console.log(`worker #${cluster.worker.id} is running workers/worker.js`);
cluster.worker.disconnect();
