'use strict';
// The cluster implementation under test, chosen by RC_IMPL:
//   RC_IMPL=node          -> Node's built-in cluster (the oracle)
//   RC_IMPL=rust (default)-> rust-cluster from this repository (or from RC_PACKAGE)
// Scenario scripts require this file in the primary and in the worker.
const which = process.env.RC_IMPL || 'rust';

if (which === 'node') {
  module.exports = require('node:cluster');
} else if (which === 'rust') {
  // RC_PACKAGE: a copy of the package elsewhere (privileges.test.js puts one where the
  // scenario's unprivileged user cannot read it).
  module.exports = require(process.env.RC_PACKAGE || '../../index.js');
} else {
  throw new Error(`RC_IMPL must be 'node' or 'rust', got ${JSON.stringify(which)}`);
}
