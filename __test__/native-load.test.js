'use strict';
// A missing or unloadable engine is reported in one clear message that names the fix.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');

function copyPackage(dir, withBinary) {
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true });
  fs.copyFileSync(path.join(root, 'index.js'), path.join(dir, 'index.js'));
  if (withBinary) fs.writeFileSync(path.join(dir, `rust-cluster.${process.platform}-${process.arch}-gnu.node`), 'not a shared object');
}

// Copies the package into a temporary directory (with or without a broken binary), calls fork()
// there and returns the error it threw.
function forkInCopy(withBinary) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-native-'));
  try {
    copyPackage(dir, withBinary);
    const script = `const c = require(${JSON.stringify(dir)}); try { c.fork(); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    return JSON.parse(r.stdout.trim());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('no compiled engine: fork() throws ERR_RUST_CLUSTER_NATIVE naming the fix', () => {
  const err = forkInCopy(false);
  assert.strictEqual(err.code, 'ERR_RUST_CLUSTER_NATIVE');
  assert.match(err.message, /no compiled addon was found/);
  assert.match(err.message, /npm run build/);
});

test('an engine that cannot be loaded: the loader error is included', () => {
  const err = forkInCopy(true);
  assert.strictEqual(err.code, 'ERR_RUST_CLUSTER_NATIVE');
  assert.match(err.message, /failed to load/);
  assert.match(err.message, /npm run build/);
});
