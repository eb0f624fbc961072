'use strict';
// npm run stress: the long reliability checks, with their figures. Exits non-zero if any fails.
const { spawnSync } = require('child_process');
const path = require('path');

const checks = [
  { file: 'fork-cycles.js', judge: (r) => leaks(r) },
  { file: 'rr-connections.js', judge: (r) => leaks(r) || (r.failed > 0 ? `${r.failed} connections failed` : null) },
  // A killed worker can take down what it had accepted and not answered: with 8 requests in
  // flight over 8 workers that is at most a few per kill, never a systematic loss.
  { file: 'churn.js', judge: (r) => (r.failed > r.kills * 2 ? `${r.failed} failed requests for ${r.kills} kills` : null) },
];

function leaks(r) {
  const problems = [];
  if (r.after.fds > r.before.fds + 2) problems.push(`fds ${r.before.fds} -> ${r.after.fds}`);
  if (r.after.threads > r.before.threads) problems.push(`threads ${r.before.threads} -> ${r.after.threads}`);
  if (r.after.rssKiB > r.before.rssKiB + 32 * 1024) problems.push(`RSS ${r.before.rssKiB} -> ${r.after.rssKiB} KiB`);
  return problems.length ? problems.join(', ') : null;
}

let failed = 0;
for (const { file, judge } of checks) {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, file)], { encoding: 'utf8', timeout: 240000 });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) {
    failed++;
    console.log(`FAIL ${file}: exit ${r.status} ${r.signal || ''}\n${r.stderr}`);
    continue;
  }
  const result = JSON.parse(line);
  const problem = judge(result);
  if (problem) failed++;
  console.log(`${problem ? 'FAIL' : 'ok  '} ${file}: ${line}${problem ? `\n     ${problem}` : ''}`);
}
process.exit(failed ? 1 : 0);
