'use strict';
// Supervision beyond Node (rust-cluster only, so no oracle: Node's cluster has none of it):
// reload under load, failed replacements, readiness, respawn with backoff, the memory limit,
// worker.stats() against /proc, and the errors of bad options. Each scenario is a real primary
// with real workers and real HTTP clients on loopback; it prints one JSON line.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { execFile } = require('node:child_process');

const DIR = path.join(__dirname, 'scenarios', 'supervision');

function run(script, args = [], timeout = 100000) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(DIR, script), ...args.map(String)], { timeout, env: { ...process.env, RC_IMPL: 'rust' } },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`${script}: no result (${err && err.message})\n${stdout}\n${stderr}`));
        }
      });
  });
}

describe('supervision', { concurrency: 2 }, () => {
  // Under SCHED_REUSEPORT the kernel stops choosing the old worker's socket and what waits on it
  // is handed on: the same guarantees as under round-robin.
  for (const policy of ['rr', 'reuseport']) {
    it(`reload under load: 3 reloads in a row, fresh and keep-alive clients, no failed request (${policy})`, async (t) => {
      const r = await run('reload-load.js', [3, 2, 1500, policy]);
      t.diagnostic(`answered ${r.report.ok}, keep-alive retries ${r.report.retried}, reloads took ${r.times.join('/')} ms`);
      assert.strictEqual(r.error, undefined);
      assert.deepStrictEqual(r.report.failures, []);
      assert.strictEqual(r.report.failed, 0);
      assert.ok(r.report.ok > 100, `only ${r.report.ok} answers`);
      // 2 workers at first and 2 more per reload, every one of them answered.
      assert.strictEqual(Object.keys(r.report.byPid).length, 8);
      assert.strictEqual(r.after.filter((pid) => r.before.includes(pid)).length, 0);
      assert.strictEqual(r.left, 0, 'shutdown() leaves no worker');
      assert.deepStrictEqual(r.alive, []);
    });
  }

  for (const how of ['crash', 'hang']) {
    it(`a replacement that ${how === 'crash' ? 'exits first' : 'is never ready'} aborts the reload; the old workers stay`, async () => {
      const r = await run('reload-fail.js', [how]);
      assert.strictEqual(r.error.code, 'ERR_RUST_CLUSTER_RELOAD');
      assert.strictEqual(r.error.isError, true);
      assert.strictEqual(r.error.reason, how === 'crash' ? 'exit' : 'timeout');
      assert.strictEqual(r.error.worker, 1);
      assert.strictEqual(r.error.replacement, 3);
      assert.match(r.error.message, /^Worker 3, replacing worker 1, /);
      // One replacement only (the reload stopped there), and it is gone.
      assert.strictEqual(r.forked.length, 1);
      assert.strictEqual(r.forked[0].dead, true);
      if (how === 'hang') assert.strictEqual(r.forked[0].signal, 'SIGKILL');
      else assert.strictEqual(r.forked[0].code, 7);
      assert.deepStrictEqual(r.workers, [1, 2]);
      assert.ok(r.olds.every((o) => o.alive && o.state === 'listening'));
      assert.deepStrictEqual(r.answeredBy, r.olds.map((o) => o.pid).sort());
    });
  }

  it("readiness 'message': the old worker leaves only after the replacement sent 'ready'", async () => {
    const r = await run('readiness.js');
    assert.deepStrictEqual(r.message.seen, ['new listening', 'new ready', 'old disconnect']);
    // app.js sends 'ready' 300 ms after it listens.
    assert.ok(r.message.gap >= 250, `the old worker left ${r.message.gap} ms after the new one listened`);
    assert.deepStrictEqual(r.listening.seen, ['new listening', 'old disconnect']);
    assert.ok(r.message.oldDead && r.listening.oldDead);
  });

  it('a second reload() waits for the first; concurrency 2 replaces two workers at once', async () => {
    const r = await run('reload-order.js');
    assert.deepStrictEqual(r.twice, ['fork 1', 'fork 2', 'disconnect 1', 'first done', 'fork 3', 'disconnect 2', 'second done']);
    assert.deepStrictEqual(r.parallel.slice(0, 2), ['fork 5', 'fork 6']);
    assert.deepStrictEqual(r.parallel.slice(2).sort(), ['disconnect 3', 'disconnect 4']);
  });

  it('respawn: delays grow by factor up to maxDelay, stop at maxRestarts, reset after resetAfter', async () => {
    const r = await run('respawn.js');
    assert.deepStrictEqual(r.crashLine.map((x) => x.delay), [50, 100, 200, 200]);
    assert.deepStrictEqual(r.crashLine.map((x) => [x.old, x.fresh]), [[1, 2], [2, 3], [3, 4], [4, 5]]);
    for (const x of r.crashLine) assert.ok(x.waited >= x.delay - 2, `respawned after ${x.waited} ms, delay ${x.delay}`);
    assert.strictEqual(r.limitFor, 5);
    assert.deepStrictEqual(r.ended, ['disconnect', 'kill', 'process.kill']);
    assert.strictEqual(r.afterPurpose, 0, 'workers ended on purpose are not respawned');
    assert.deepStrictEqual(r.reset, [50]);
    assert.strictEqual(r.afterShutdown, 0, 'shutdown() cancels a respawn waiting for its delay');
    assert.strictEqual(r.workersLeft, 0);
  });

  it('memoryLimit: a worker over the limit on two reads is replaced, with no failed request', async () => {
    const r = await run('memory.js');
    assert.strictEqual(r.reports.length, 1);
    assert.strictEqual(r.reports[0].pid, r.grown);
    assert.strictEqual(r.reports[0].overLimit, true);
    // Two reads a second apart: not at the first read over the limit.
    assert.ok(r.reports[0].after >= 900 && r.reports[0].after < 10000, `reported after ${r.reports[0].after} ms`);
    assert.strictEqual(r.workers.length, 2);
    assert.ok(!r.workers.includes(r.grown));
    assert.strictEqual(r.report.failed, 0, JSON.stringify(r.report.failures));
  });

  it('worker.stats(): pid, uptime, CPU and RSS agree with /proc; connections count hand-offs', async () => {
    const r = await run('stats.js');
    assert.deepStrictEqual(r.keys, ['pid', 'uptime', 'cpu', 'rss', 'connections']);
    assert.deepStrictEqual(r.cpuKeys, ['user', 'system']);
    for (const k of ['pid', 'uptime', 'user', 'system', 'rss']) assert.strictEqual(r[k], true, `${k}: ${JSON.stringify(r.figures)}`);
    assert.strictEqual(r.connections, 5);
    assert.strictEqual(r.afterExit, null);
  });

  it('bad options: ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE at the call', async () => {
    const r = await run('validation.js');
    assert.match(r.respawn, /^TypeError ERR_INVALID_ARG_TYPE: The "options.respawn" property must be one of type boolean or object/);
    assert.match(r.respawnDelay, /^RangeError ERR_OUT_OF_RANGE: The value of "options.respawn.delay" is out of range/);
    assert.match(r.respawnFactor, /^RangeError ERR_OUT_OF_RANGE: .*"options.respawn.factor"/);
    assert.match(r.memoryLimit, /^TypeError ERR_INVALID_ARG_TYPE: The "options.memoryLimit" property must be of type number/);
    assert.match(r.memoryLimitFraction, /^RangeError ERR_OUT_OF_RANGE: .*It must be an integer/);
    assert.match(r.reloadSettings, /^RangeError ERR_OUT_OF_RANGE: .*"options.reload.concurrency"/);
    assert.match(r.rescueAfter, /^TypeError ERR_INVALID_ARG_TYPE: The "options.rescueAfter" property must be of type number/);
    assert.match(r.rescueAfterNegative, /^RangeError ERR_OUT_OF_RANGE: .*"options.rescueAfter"/);
    assert.strictEqual(r.settingsUntouched, true, 'a refused setupPrimary() keeps nothing');
    assert.match(r.reloadOptions, /^TypeError ERR_INVALID_ARG_TYPE: The "options" argument must be of type object/);
    assert.match(r.concurrency, /^RangeError ERR_OUT_OF_RANGE: .*"options.concurrency"/);
    assert.match(r.readiness, /^TypeError ERR_INVALID_ARG_VALUE: The property 'options.readiness' must be 'listening' or 'message'/);
    assert.match(r.readyTimeout, /^TypeError ERR_INVALID_ARG_TYPE: .*"options.readyTimeout"/);
    assert.match(r.shutdownTimeout, /^RangeError ERR_OUT_OF_RANGE: .*"options.shutdownTimeout"/);
    assert.strictEqual(r.good, 'no error');
    assert.deepStrictEqual(r.enumerable, [], 'the cluster object lists what Node\'s lists');
    assert.strictEqual(r.workerEnumerable, false);
  });
});
