'use strict';

// Worker program of examples/setup-primary-args.js (the reference's
// "worker.js"): reports the arguments it was started with, whether its
// stdout is piped to the primary (silent) or shared, then disconnects.

const cluster = require('rust-cluster');

const args = process.argv.slice(2).join(' ');
console.log(`worker #${cluster.worker.id}: started with args [${args}]`);
cluster.worker.disconnect();
