'use strict';
// In a worker the protocol is spoken by Node's own worker-side cluster code, which bootstrap has
// already loaded: rust-cluster hands it out unchanged, so worker code behaves exactly as with
// require('cluster').
module.exports = require('node:cluster');
