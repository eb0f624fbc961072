'use strict';
// Loads the compiled engine. A missing or unloadable addon is reported once, with the fix.

const path = require('path');
const fs = require('fs');

const root = path.join(__dirname, '..');
const candidates = [
  `rust-cluster.${process.platform}-${process.arch}-gnu.node`,
  `rust-cluster.${process.platform}-${process.arch}.node`,
  `rust-cluster.${process.platform}-${process.arch}-musl.node`,
];

function load() {
  let lastError = null;
  for (const name of candidates) {
    const file = path.join(root, name);
    if (!fs.existsSync(file)) continue;
    try {
      return require(file);
    } catch (err) {
      lastError = err;
    }
  }
  const why = lastError ? `it failed to load: ${lastError.message}` : 'no compiled addon was found';
  const err = new Error(
    `rust-cluster: the native engine is not available (${why}). ` +
    'Build it from source with `npm run build` in the rust-cluster package ' +
    '(needs Rust: https://rustup.rs) or reinstall the package.');
  err.code = 'ERR_RUST_CLUSTER_NATIVE';
  throw err;
}

module.exports = { load };
