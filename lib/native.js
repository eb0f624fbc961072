'use strict';
// Finds and loads the engine, once, when rust-cluster is required (so a primary that drops its
// privileges before its first fork() still has it). Where it comes from, in order:
//   1. the platform package npm installed beside rust-cluster (rust-cluster-linux-x64-gnu, ...),
//      chosen by npm through its os/cpu/libc fields;
//   2. a binary built in place from source (`npm install` without a platform package, or
//      `npm run build` in a checkout), named as napi-rs names it: rust-cluster.linux-x64-gnu.node.
// A failure is kept and thrown where the engine is first needed, with the fix in the message.

const path = require('path');
const fs = require('fs');

const root = path.join(__dirname, '..');
const PACKAGE = 'rust-cluster';

// The targets this package is published for (npm/<target>/), by Node's platform and arch.
const TARGETS = {
  'linux-x64': ['linux-x64-gnu', 'linux-x64-musl'],
  'linux-arm64': ['linux-arm64-gnu', 'linux-arm64-musl'],
};

// The C library the running Node is linked against: 'gnu' or 'musl'.
function libc() {
  if (process.platform !== 'linux') return null;
  const header = process.report && process.report.getReport().header;
  return header && header.glibcVersionRuntime ? 'gnu' : 'musl';
}

// The target this Node needs (for messages), or null where no platform package is published.
function expectedTarget() {
  const list = TARGETS[`${process.platform}-${process.arch}`];
  if (!list) return null;
  return list.find((t) => t.endsWith(`-${libc()}`)) || list[0];
}

// Each place a binary may be, in the order they are tried: { file, from }. Both C libraries are
// listed (glibc first): only the matching one loads, and npm installs only the matching package.
function candidates() {
  const list = TARGETS[`${process.platform}-${process.arch}`] || [];
  const found = [];
  for (const target of list) {
    let file = null;
    try {
      file = require.resolve(`${PACKAGE}-${target}`, { paths: [root] });
    } catch { /* not installed */ }
    if (file !== null) found.push({ file, from: `${PACKAGE}-${target}` });
  }
  for (const target of list) {
    const file = path.join(root, `${PACKAGE}.${target}.node`);
    if (fs.existsSync(file)) found.push({ file, from: 'a build from source' });
  }
  return found;
}

function notAvailable(why) {
  const target = expectedTarget();
  const pkg = target ? `the platform package ${PACKAGE}-${target}` : `a prebuilt engine for ${process.platform}-${process.arch}`;
  const err = new Error(
    `rust-cluster: the native engine is not available (${why}). Install ${pkg} ` +
    '(npm installs it with rust-cluster unless optional dependencies are skipped) or build it ' +
    'from source with `npm run build` in the rust-cluster package (needs Rust: https://rustup.rs).');
  err.code = 'ERR_RUST_CLUSTER_NATIVE';
  return err;
}

function tryLoad() {
  let lastError = null;
  for (const { file } of candidates()) {
    try {
      return { binding: require(file), file, error: null };
    } catch (err) {
      lastError = err;
    }
  }
  const why = lastError ? `it failed to load: ${lastError.message}` : 'no compiled addon was found';
  return { binding: null, file: null, error: notAvailable(why) };
}

const loaded = tryLoad();

// The binding's exports; throws ERR_RUST_CLUSTER_NATIVE when there is none.
function load() {
  if (loaded.error !== null) throw loaded.error;
  return loaded.binding;
}

// The constants the binding declares for the boundary (send results, batch kinds), or {} when
// there is no engine (then no worker can exist to use them).
const constants = loaded.binding || {};

module.exports = { load, constants, loadedFrom: () => loaded.file, expectedTarget, candidates, TARGETS, PACKAGE };
