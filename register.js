'use strict';
// `node -r rust-cluster/register app.js` (or `--import rust-cluster/register`): in the primary,
// every require('cluster') / require('node:cluster') and every ESM import of 'cluster' or
// 'node:cluster' resolves to rust-cluster, so all the libraries in the process share one primary.
// In a worker nothing changes: workers keep Node's own worker-side module.
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { isWorker } = require('./lib/role.js');

const NAMES = new Set(['cluster', 'node:cluster']);
const CJS_ENTRY = path.join(__dirname, 'index.js');

if (!isWorker && !Module[Symbol.for('rust-cluster.register')]) {
  Module[Symbol.for('rust-cluster.register')] = true;
  const load = Module._load;
  Module._load = function _load(request, parent, isMain) {
    if (NAMES.has(request)) return load.call(this, CJS_ENTRY, parent, isMain);
    return load.apply(this, arguments);
  };
  // ESM imports (Node 20.6+): a resolve hook on the loader's thread.
  if (typeof Module.register === 'function') {
    Module.register(pathToFileURL(path.join(__dirname, 'lib', 'register-hooks.mjs')), {
      data: { entry: pathToFileURL(path.join(__dirname, 'index.mjs')).href },
    });
  }
}
