'use strict';
// npm install hook. With an engine that loads (the platform package npm picked through its
// os/cpu/libc fields, or a binary built here before) there is nothing to do. Without one, the
// engine is built from source when cargo is there; when it is not, the install fails with one
// line naming the missing platform package. (npm 11 runs a dependency's install script only
// when the project allows it; without the script, lib/native.js names the same way out.)
const path = require('path');
const { spawnSync } = require('child_process');
const native = require('../lib/native.js');
const { build } = require('./build.js');

function fail(line) {
  console.error(`rust-cluster: ${line}`);
  process.exit(1);
}

if (!process.env.RUST_CLUSTER_FORCE_BUILD && native.loadedFrom() !== null) process.exit(0);

const target = native.expectedTarget();
if (target === null) {
  fail(`no engine is published for ${process.platform}-${process.arch}: rust-cluster runs on Linux x64 and arm64.`);
}
const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' });
if (cargo.error || cargo.status !== 0) {
  fail(`the platform package ${native.PACKAGE}-${target} is not installed and Rust is not there to build the engine ` +
    'from source: install that package (optional dependencies must not be omitted) or Rust ' +
    '(https://rustup.rs), then run npm install again.');
}
const dest = build();
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(dest)})`], { encoding: 'utf8' });
if (check.status !== 0) fail(`the engine built from source does not load: ${check.stderr.trim().split('\n')[0]}`);
console.log(`rust-cluster: built the engine from source (${path.basename(dest)})`);
