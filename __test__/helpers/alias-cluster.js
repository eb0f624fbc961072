'use strict';

// Preload that runs a rust-cluster program on Node's built-in cluster (the
// oracle): `node -r ./__test__/helpers/alias-cluster.js examples/demo.js`, or
// NODE_OPTIONS="--require /abs/path/alias-cluster.js".
//
// Only the exact request 'rust-cluster' is redirected, to the built-in
// 'node:cluster'; every other request resolves as usual. Workers load it too:
// cluster.fork() passes the primary's execArgv (so `-r`) to every worker, and
// NODE_OPTIONS is inherited through the environment.
//
// Set RUST_CLUSTER_ALIAS_LOG=1 to print one line to stderr per process when
// the alias is used (the examples test uses it to prove the oracle ran).

const Module = require('node:module');

const ALIASED = 'rust-cluster';
// Module._load treats a resolved filename that names a built-in (without the
// 'node:' scheme) as that built-in, so the scheme-less name is returned here.
const TARGET = 'cluster';

const originalResolveFilename = Module._resolveFilename;
let logged = false;

Module._resolveFilename = function resolveFilename(request, ...rest) {
  if (request === ALIASED) {
    if (process.env.RUST_CLUSTER_ALIAS_LOG === '1' && !logged) {
      logged = true;
      process.stderr.write(`[alias-cluster] pid ${process.pid}: 'rust-cluster' -> '${TARGET}'\n`);
    }
    return TARGET;
  }
  return originalResolveFilename.call(this, request, ...rest);
};
