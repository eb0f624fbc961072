'use strict';
// npm run pack:all: writes into dist/ every tarball a release publishes: the main package, and
// the platform package (npm/<target>/) of each target whose engine was built. An engine is
// taken from npm/<target>/ (where a release workflow's artifacts are put) or from the
// package root (where `npm run build` and a build from source put this machine's).
// Prints one line per tarball; exits non-zero when the main package would be unusable.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function fail(line) {
  console.error(`pack:all: ${line}`);
  process.exit(1);
}

function pack(dir) {
  const r = spawnSync('npm', ['pack', '--json', '--pack-destination', dist], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) fail(`npm pack in ${path.relative(root, dir) || '.'} failed:\n${r.stderr}`);
  const [info] = JSON.parse(r.stdout);
  return info;
}

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist);

const targets = fs.readdirSync(path.join(root, 'npm')).sort();
for (const target of targets) {
  const dir = path.join(root, 'npm', target);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  if (meta.version !== main.version) fail(`${meta.name} is at ${meta.version}, the main package at ${main.version}`);
  if (main.optionalDependencies[meta.name] !== main.version) {
    fail(`package.json's optionalDependencies must list ${meta.name} at ${main.version}`);
  }
  const binary = meta.main;
  const built = path.join(root, binary);
  if (fs.existsSync(built)) fs.copyFileSync(built, path.join(dir, binary));
  if (!fs.existsSync(path.join(dir, binary))) {
    console.log(`skipped ${meta.name}: no ${binary} was built here`);
    continue;
  }
  const info = pack(dir);
  console.log(`${info.filename}: ${info.files.length} files, ${info.size} bytes`);
}

const info = pack(root);
if (info.files.some((f) => f.path.endsWith('.node'))) fail('the main package must not carry an engine binary');
console.log(`${info.filename}: ${info.files.length} files, ${info.size} bytes`);
