'use strict';
// The package as a user meets it: `npm pack`, install the tarball into a fresh empty project
// (the install hook builds the engine from source there), then use it from CommonJS, ESM and
// TypeScript. Exits non-zero with the failing step named.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert');

const root = path.join(__dirname, '..');
const npm = 'npm';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rust-cluster-pack-'));
try {
  const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], { cwd: root }));
  const tarball = path.join(work, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  for (const needed of ['index.js', 'index.mjs', 'index.d.ts', 'lib/primary.js', 'src/lib.rs',
    'crates/core/src/lib.rs', 'Cargo.toml', 'Cargo.lock', 'build.rs', 'scripts/install.js']) {
    assert.ok(files.includes(needed), `tarball is missing ${needed}`);
  }
  assert.ok(!files.some((f) => f.endsWith('.node')), 'tarball must not ship a prebuilt binary');
  console.log(`packed ${packed[0].filename}: ${files.length} files`);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  // Reuse compiled dependencies between runs; the package's own crates still build from source.
  const env = { ...process.env, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR || path.join(root, 'target', 'package-test') };
  run(npm, ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const installed = path.join(app, 'node_modules', 'rust-cluster');
  assert.ok(fs.readdirSync(installed).some((f) => f.endsWith('.node')), 'the install hook did not build the engine');
  console.log('installed and built from source');

  fs.writeFileSync(path.join(app, 'cjs.js'), `
const cluster = require('rust-cluster');
if (cluster.isPrimary) {
  const w = cluster.fork();
  w.on('message', (m) => { console.log('cjs', m); w.disconnect(); });
} else {
  process.send('hello from worker ' + cluster.worker.id);
}
`);
  assert.strictEqual(run(process.execPath, ['cjs.js'], { cwd: app }).trim(), 'cjs hello from worker 1');
  fs.writeFileSync(path.join(app, 'esm.mjs'), `
import cluster, { isPrimary, SCHED_RR } from 'rust-cluster';
console.log('esm', isPrimary, cluster.isPrimary, SCHED_RR);
`);
  assert.strictEqual(run(process.execPath, ['esm.mjs'], { cwd: app }).trim(), 'esm true true 2');
  console.log('require and import work');

  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (fs.existsSync(tsc)) {
    fs.writeFileSync(path.join(app, 'use.ts'), `
import cluster from 'rust-cluster';
import type { Worker } from 'rust-cluster';
const w: Worker | undefined = cluster.isPrimary ? cluster.fork({ A: '1' }) : undefined;
w?.on('exit', (code: number, signal: string) => console.log(code, signal));
`);
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext',
        types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], skipLibCheck: false },
      files: ['use.ts'],
    }));
    run(process.execPath, [tsc, '-p', app], { cwd: app });
    console.log('types resolve from the installed package');
  }
  console.log('package test passed');
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
