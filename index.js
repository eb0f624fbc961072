'use strict';
// Like Node's lib/cluster.js: the primary implementation, or in a worker the worker one.
// Node's bootstrap deletes NODE_UNIQUE_ID before user code runs, so a worker is also recognised by
// the worker-side cluster module having been loaded.
const isWorker = 'NODE_UNIQUE_ID' in process.env ||
  (Array.isArray(process.moduleLoadList) &&
   process.moduleLoadList.includes('NativeModule internal/cluster/child'));

module.exports = isWorker ? require('./lib/child.js') : require('./lib/primary.js');
