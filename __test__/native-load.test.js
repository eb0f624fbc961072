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

test('the platform package is loaded first, and at require(), before any fork()', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-native-'));
  try {
    const target = `${process.platform}-${process.arch}-gnu`;
    // A broken build in place, and the real engine as the platform package npm would install.
    copyPackage(dir, true);
    const pkg = path.join(dir, 'node_modules', `rust-cluster-${target}`);
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: `rust-cluster-${target}`, main: `rust-cluster.${target}.node` }));
    fs.copyFileSync(path.join(root, `rust-cluster.${target}.node`), path.join(pkg, `rust-cluster.${target}.node`));
    const script = `require(${JSON.stringify(dir)});
      const maps = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n');
      console.log(JSON.stringify([...new Set(maps.filter((l) => l.endsWith('.node')).map((l) => l.slice(l.indexOf('/'))))]));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout), [path.join(pkg, `rust-cluster.${target}.node`)]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
