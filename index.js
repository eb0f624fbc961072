'use strict';
// Like Node's lib/cluster.js: the primary implementation, or in a worker the worker one.
const { isWorker } = require('./lib/role.js');

module.exports = isWorker ? require('./lib/child.js') : require('./lib/primary.js');
