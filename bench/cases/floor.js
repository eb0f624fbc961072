'use strict';
// Row 8: the floor. Runs bench/floor (two small Rust processes over a socketpair, no Node), building
// it first if needed, and prints its one JSON result line. There is no --impl: the floor is the
// same loop with neither cluster implementation in it. Arguments go to the floor binary, e.g.
//
//   node bench/cases/floor.js ipc --framing=json --size=15 --batch=1 --window=1
//   node bench/cases/floor.js ipc --size=67 --window=256
//   node bench/cases/floor.js ipc --children=8 --window=16 --reply=ack --size=42
//   node bench/cases/floor.js fdpass
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const dir = path.join(__dirname, '..', 'floor');
const bin = path.join(dir, 'target', 'release', 'floor');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--impl='));

if (!fs.existsSync(bin)) {
  const b = spawnSync('cargo', ['build', '--release', '--quiet', '--manifest-path', path.join(dir, 'Cargo.toml')],
    { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300000 });
  if (b.error || b.status !== 0) {
    process.stdout.write(JSON.stringify({ ok: false, case: 'floor', error: 'could not build bench/floor (is cargo installed?)' }) + '\n');
    process.exit(1);
  }
}
const r = spawnSync(bin, args.length ? args : ['ipc'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120000 });
process.exit(r.status === null ? 1 : r.status);
