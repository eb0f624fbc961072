'use strict';
// npm run stress: the long reliability checks, with their figures. Exits non-zero if any fails.
const { spawnSync } = require('child_process');
const path = require('path');

const checks = [
  { file: 'fork-cycles.js', judge: (r) => leaks(r) },
  { file: 'rr-connections.js', judge: (r) => leaks(r) || (r.failed > 0 ? `${r.failed} connections failed` : null) },
  // A killed worker takes down the connections it had accepted and not answered; the faster
  // distribution is, the more it holds when it dies (a few per kill with 8 requests in flight).
  // Anything beyond that would be connections lost by the primary. The built-in runs the same
  // churn for comparison.
  { file: 'churn.js', judge: (r) => (r.failed > r.kills * 5 ? `${r.failed} failed requests for ${r.kills} kills` : null) },
  { file: 'churn.js', env: { RC_IMPL: 'node' }, label: 'churn.js (built-in, for comparison)', judge: () => null },
];

function leaks(r) {
  const problems = [];
  if (r.after.fds > r.before.fds + 2) problems.push(`fds ${r.before.fds} -> ${r.after.fds}`);
  if (r.after.threads > r.before.threads) problems.push(`threads ${r.before.threads} -> ${r.after.threads}`);
  if (r.after.rssKiB > r.before.rssKiB + 32 * 1024) problems.push(`RSS ${r.before.rssKiB} -> ${r.after.rssKiB} KiB`);
  return problems.length ? problems.join(', ') : null;
}

let failed = 0;
for (const { file, judge, env, label = file } of checks) {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, file)],
    { encoding: 'utf8', timeout: 240000, env: { ...process.env, ...env } });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) {
    failed++;
    console.log(`FAIL ${label}: exit ${r.status} ${r.signal || ''}\n${r.stderr}`);
    continue;
  }
  const result = JSON.parse(line);
  const problem = judge(result);
  if (problem) failed++;
  console.log(`${problem ? 'FAIL' : 'ok  '} ${label}: ${line}${problem ? `\n     ${problem}` : ''}`);
}
process.exit(failed ? 1 : 0);
