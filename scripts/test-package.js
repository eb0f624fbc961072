'use strict';
// The package as users meet it. `npm run pack:all` writes the release's tarballs into dist/;
// then, in fresh empty projects:
//   1. the main tarball with this machine's platform package, installed with no Rust on PATH:
//      nothing is compiled, and the package works from CommonJS, ESM and TypeScript (each forks
//      a worker that answers a message), with the engine loaded from the platform package;
//   2. the main tarball alone, no Rust: the install fails with one line naming the package;
//   3. the main tarball alone, with Rust: the install hook builds the engine from source.
// Exits non-zero with the failing step named.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert');
const native = require('../lib/native.js');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
const target = native.expectedTarget();
const platformPackage = `${native.PACKAGE}-${target}`;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

// PATH without the directories that hold cargo or rustc.
function pathWithoutRust() {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter((d) =>
    !['cargo', 'rustc'].some((tool) => fs.existsSync(path.join(d, tool))));
  return dirs.join(path.delimiter);
}

// An empty project; `allowScripts` lets npm 11 run rust-cluster's install hook (it runs a
// dependency's install script only when the project allows it; older npm always runs it).
function project(work, name, { allowScripts = false } = {}) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  const meta = { name, version: '1.0.0', private: true };
  if (allowScripts) meta.allowScripts = { [native.PACKAGE]: true };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(meta));
  return dir;
}

// Every file under `dir` whose name ends with `suffix`.
function find(dir, suffix) {
  return fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(suffix));
}

const npmInstall = ['install', '--no-audit', '--no-fund'];

// A program that forks a worker, sends it a message and prints the answer and the engine file
// it mapped (from /proc/self/maps, so the check is what the process really loaded).
// The worker says when its listener is attached: an ES module worker runs after 'online', and
// a message that arrives before its listener is lost (in Node's cluster too).
const PRIMARY_BODY = `
  const w = cluster.fork();
  w.on('message', (m) => {
    if (m === 'ready') return w.send('ping');
    const engine = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')
      .map((l) => l.slice(l.indexOf('/'))).find((f) => f.endsWith('.node'));
    console.log(JSON.stringify({ answer: m, engine }));
    w.disconnect();
  });`;
const WORKER_BODY = `
  process.on('message', (m) => process.send(m + ' answered by worker ' + cluster.worker.id));
  process.send('ready');`;

function checkAnswer(out, app) {
  const { answer, engine } = JSON.parse(out.trim());
  assert.strictEqual(answer, 'ping answered by worker 1');
  return path.relative(app, engine);
}

function useFromCjsEsmTs(app, env) {
  fs.writeFileSync(path.join(app, 'cjs.js'), `const cluster = require('rust-cluster');
if (cluster.isPrimary) {${PRIMARY_BODY}
} else {${WORKER_BODY}
}
`);
  const cjs = checkAnswer(run(process.execPath, ['cjs.js'], { cwd: app, env }), app);
  fs.writeFileSync(path.join(app, 'esm.mjs'), `import { createRequire } from 'node:module';
import cluster, { isPrimary, SCHED_RR } from 'rust-cluster';
const require = createRequire(import.meta.url);
if (isPrimary) {
  if (SCHED_RR !== 2 || !cluster.isPrimary) throw new Error('named exports');${PRIMARY_BODY}
} else {${WORKER_BODY}
}
`);
  const esm = checkAnswer(run(process.execPath, ['esm.mjs'], { cwd: app, env }), app);
  console.log(`CommonJS and ESM: a worker answered; engine ${cjs}`);
  assert.strictEqual(esm, cjs);

  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  fs.writeFileSync(path.join(app, 'use.ts'), `import cluster from 'rust-cluster';
import type { Worker } from 'rust-cluster';
if (cluster.isPrimary) {
  const w: Worker = cluster.fork({ A: '1' });
  w.on('message', (m: string) => {
    if (m === 'ready') return void w.send('ping');
    console.log(JSON.stringify({ answer: m }));
    w.disconnect();
  });
  w.on('exit', (code: number, signal: string) => { if (code !== 0) throw new Error(String(signal)); });
} else {
  process.on('message', (m: string) => process.send!(m + ' answered by worker ' + cluster.worker!.id));
  process.send!('ready');
}
`);
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out',
      types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], skipLibCheck: false },
    files: ['use.ts'],
  }));
  run(process.execPath, [tsc, '-p', app], { cwd: app, env });
  const ts = JSON.parse(run(process.execPath, [path.join('out', 'use.js')], { cwd: app, env }).trim());
  assert.strictEqual(ts.answer, 'ping answered by worker 1');
  console.log('TypeScript: the types check and the compiled program\'s worker answered');
  return cjs;
}

run(process.execPath, [path.join(__dirname, 'pack-all.js')], { stdio: 'inherit' });
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const mainTarball = path.join(dist, `${native.PACKAGE}-${version}.tgz`);
const platformTarball = path.join(dist, `${platformPackage}-${version}.tgz`);
assert.ok(fs.existsSync(platformTarball), `pack:all wrote no ${path.basename(platformTarball)}: build the engine first`);

const noRust = { ...process.env, PATH: pathWithoutRust() };
for (const tool of ['cargo', 'rustc']) {
  const probe = spawnSync(tool, ['--version'], { env: noRust });
  assert.ok(probe.error && probe.error.code === 'ENOENT', `${tool} is still reachable without the Rust directories on PATH`);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rust-cluster-pack-'));
try {
  // 1. Prebuilt: main package and platform package, no Rust.
  const app = project(work, 'app');
  const started = process.hrtime.bigint();
  run('npm', [...npmInstall, mainTarball, platformTarball], { cwd: app, env: noRust });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const installed = path.join(app, 'node_modules', native.PACKAGE);
  assert.deepStrictEqual(find(installed, '.node'), [], 'something was built into the main package');
  assert.ok(!fs.existsSync(path.join(installed, 'target')), 'cargo ran during the install');
  console.log(`installed the prebuilt engine with no Rust on PATH in ${seconds.toFixed(1)} s; nothing compiled`);
  const engine = useFromCjsEsmTs(app, noRust);
  assert.strictEqual(engine, path.join('node_modules', platformPackage, `${native.PACKAGE}.${target}.node`));

  // 2. No platform package and no Rust: one line that names the package and the way out.
  const bare = project(work, 'bare', { allowScripts: true });
  const r = spawnSync('npm', [...npmInstall, mainTarball], { cwd: bare, env: noRust, encoding: 'utf8' });
  assert.notStrictEqual(r.status, 0, 'installing with neither a platform package nor Rust must fail');
  // npm shows the hook's stderr behind its own prefix.
  const ours = r.stderr.split('\n').map((l) => l.replace(/^npm error /, '')).filter((l) => l.startsWith('rust-cluster: '));
  assert.strictEqual(ours.length, 1, r.stderr);
  assert.ok(ours[0].includes(platformPackage) && ours[0].includes('Rust'), ours[0]);
  console.log(`no platform package, no Rust: the install fails with "${ours[0].slice(0, 90)}..."`);

  // 3. No platform package, Rust there: the install hook builds from source. Compiled
  // dependencies are reused between runs; the package's own crates still build.
  const source = project(work, 'source', { allowScripts: true });
  const env = { ...process.env, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR || path.join(root, 'target', 'package-test') };
  run('npm', [...npmInstall, mainTarball], { cwd: source, env });
  const built = find(path.join(source, 'node_modules', native.PACKAGE), '.node');
  assert.deepStrictEqual(built, [`${native.PACKAGE}.${target}.node`], 'the install hook did not build the engine');
  fs.writeFileSync(path.join(source, 'cjs.js'), `const cluster = require('rust-cluster');
if (cluster.isPrimary) {${PRIMARY_BODY}
} else {${WORKER_BODY}
}
`);
  const fromSource = checkAnswer(run(process.execPath, ['cjs.js'], { cwd: source }), source);
  assert.strictEqual(fromSource, path.join('node_modules', native.PACKAGE, built[0]));
  console.log('no platform package, Rust there: built from source at install, and a worker answered');
  console.log('package test passed');
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
