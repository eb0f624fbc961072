'use strict';
// Whether this process is a cluster worker. Node's bootstrap deletes NODE_UNIQUE_ID before user
// code runs (preloads included), so a worker is also recognised by the worker-side cluster module
// having been loaded.
const isWorker = 'NODE_UNIQUE_ID' in process.env ||
  (Array.isArray(process.moduleLoadList) &&
   process.moduleLoadList.includes('NativeModule internal/cluster/child'));

module.exports = { isWorker };
