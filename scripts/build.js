'use strict';
// Builds the engine from source with cargo and names it as lib/native.js and the platform
// packages expect: rust-cluster.<platform>-<arch>-<libc>.node (napi-rs's naming).
//
//   node scripts/build.js                      this machine's target, release, into the package root
//   node scripts/build.js --debug              a debug build
//   node scripts/build.js --target T [--zig]   a cross build (T one of package.json's napi triples;
//                                              --zig builds with cargo-zigbuild, and T may then
//                                              name a glibc: x86_64-unknown-linux-gnu.2.17), as
//                                              the release workflow does; --out DIR for the file
// Used by `npm run build` and by the install hook. Exits non-zero with one line on failure.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { parseArgs } = require('util');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function fail(line) {
  console.error(`rust-cluster: ${line}`);
  process.exit(1);
}

// x86_64-unknown-linux-gnu -> linux-x64-gnu (the suffix of the platform package and binary).
function suffixOf(triple) {
  const [arch, , os, abi] = triple.split('-');
  const nodeArch = { x86_64: 'x64', aarch64: 'arm64' }[arch];
  if (nodeArch === undefined || os !== 'linux' || (abi !== 'gnu' && abi !== 'musl')) return null;
  return `${os}-${nodeArch}-${abi}`;
}

function hostSuffix() {
  const header = process.report.getReport().header;
  return `${process.platform}-${process.arch}-${header.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

function build({ debug = false, target = null, zig = false, out = root } = {}) {
  const triples = pkg.napi.triples.additional;
  // cargo-zigbuild takes a glibc version after the triple (x86_64-unknown-linux-gnu.2.17).
  const triple = target === null ? null : target.replace(/\.[0-9.]+$/, '');
  if (triple !== null && !triples.includes(triple)) fail(`--target must be one of ${triples.join(', ')}`);
  if (triple !== target && !zig) fail('a glibc version after the target needs --zig');
  const suffix = triple === null ? hostSuffix() : suffixOf(triple);
  const args = [zig ? 'zigbuild' : 'build', '--lib', '-p', 'rust-cluster', '--message-format=json-render-diagnostics'];
  if (!debug) args.push('--release');
  if (target !== null) args.push('--target', target);
  const r = spawnSync('cargo', args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) fail(`cannot run cargo (${r.error.code}): install Rust from https://rustup.rs`);
  if (r.status !== 0) fail(`building the engine failed (cargo exited with ${r.status ?? r.signal}); the errors are above.`);
  let library = null;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const m = JSON.parse(line);
    if (m.reason === 'compiler-artifact' && m.target.kind.includes('cdylib')) {
      library = m.filenames.find((f) => f.endsWith('.so')) || library;
    }
  }
  if (library === null) fail('cargo built no library for the engine; run `cargo build --release` in the package to see why.');
  fs.mkdirSync(out, { recursive: true });
  const dest = path.join(out, `${pkg.napi.name}.${suffix}.node`);
  fs.copyFileSync(library, dest);
  return dest;
}

module.exports = { build, suffixOf };

if (require.main === module) {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        debug: { type: 'boolean', default: false },
        target: { type: 'string' },
        zig: { type: 'boolean', default: false },
        out: { type: 'string' },
      },
    }));
  } catch (err) {
    fail(err.message);
  }
  const dest = build({
    debug: values.debug,
    target: values.target ?? null,
    zig: values.zig,
    out: values.out ? path.resolve(values.out) : root,
  });
  console.log(`rust-cluster: built ${path.relative(process.cwd(), dest)}`);
}
