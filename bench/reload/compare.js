'use strict';
// Reload under load, both managers in the same run: pm2.js and rust-cluster.js alternately
// (`--rounds` each, PM2 first in odd rounds, rust-cluster first in even ones), then the sums
// as the rows of the README's reliability table.
//
//   node bench/reload/compare.js [--rounds=2] [--reloads=3] [--instances=2]

const path = require('node:path');
const { execFile } = require('node:child_process');
const { parseArgs, promisify } = require('node:util');

const execFileP = promisify(execFile);

async function runOne(script, args) {
  const { stdout } = await execFileP(process.execPath, [path.join(__dirname, script), ...args],
    { timeout: 180000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      reloads: { type: 'string', default: '3' },
      instances: { type: 'string', default: '2' },
    },
  });
  const args = [`--reloads=${values.reloads}`, `--instances=${values.instances}`];
  const runs = { pm2: [], 'rust-cluster': [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? ['pm2.js', 'rust-cluster.js'] : ['rust-cluster.js', 'pm2.js'];
    for (const script of order) {
      const r = await runOne(script, args);
      runs[r.manager].push(r);
      console.log(JSON.stringify(r));
    }
  }
  console.log(`\n| manager | runs × reloads | requests answered | failed | keep-alive retries |`);
  console.log('|---|---|---|---|---|');
  for (const [manager, list] of Object.entries(runs)) {
    const sum = (k) => list.reduce((a, r) => a + r[k], 0);
    const version = list[0] ? list[0].version : '?';
    console.log(`| ${manager} ${version} | ${list.length} × ${values.reloads} | ${sum('ok')} | ${sum('failed')} | ` +
      `${sum('retried')} |`);
  }
}

main().catch((err) => {
  console.error(`compare: ${err.message.split('\n')[0]}`);
  process.exit(1);
});
