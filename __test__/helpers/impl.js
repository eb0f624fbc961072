'use strict';
// The cluster implementation under test, chosen by RC_IMPL:
//   RC_IMPL=node          -> Node's built-in cluster (the oracle)
//   RC_IMPL=rust (default)-> rust-cluster from this repository
// Scenario scripts require this file in the primary and in the worker.
const which = process.env.RC_IMPL || 'rust';

if (which === 'node') {
  module.exports = require('node:cluster');
} else if (which === 'rust') {
  module.exports = require('../../index.js');
} else {
  throw new Error(`RC_IMPL must be 'node' or 'rust', got ${JSON.stringify(which)}`);
}
