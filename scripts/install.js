'use strict';
// npm install hook: builds the native engine from source unless a matching binary is present.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const binary = path.join(root, `rust-cluster.${process.platform}-${process.arch}-gnu.node`);
if (fs.existsSync(binary) && !process.env.RUST_CLUSTER_FORCE_BUILD) {
  process.exit(0);
}
let cli;
try {
  cli = require.resolve('@napi-rs/cli/scripts/index.js', { paths: [root] });
} catch {
  console.error('rust-cluster: @napi-rs/cli is missing; run `npm install` again.');
  process.exit(1);
}
const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' });
if (cargo.status !== 0) {
  console.error('rust-cluster: building the native engine needs Rust (cargo). Install it from https://rustup.rs and run `npm install` again.');
  process.exit(1);
}
const r = spawnSync(process.execPath, [cli, 'build', '--platform', '--release', '--js', 'false', '--dts', 'native.d.ts'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status === null ? 1 : r.status);
