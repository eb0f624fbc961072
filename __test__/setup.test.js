'use strict';
// Starting workers: fork(env), ids, settings/setupPrimary, stdio, cwd,
// scheduling policy.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { agree, events } = require('./helpers/oracle');

describe('fork and settings', { concurrency: 4 }, () => {
  it('fork(env) overlay, NODE_UNIQUE_ID, ids never reused (fork-env.js)', async (t) => {
    const oracle = await agree(t, 'fork-env.js');
    assert.deepStrictEqual(events(oracle, 'P', 'forked').map((o) => o.id), [1, 2, 3, 4]);
    const [w1] = events(oracle, 'W1', 'env');
    assert.deepStrictEqual([w1.env.RC_EXTRA, w1.environ.NODE_UNIQUE_ID, w1.inProcessEnv], ['x', ['1'], []]);
  });

  // What the (first) worker must have seen, per case.
  const SETTINGS = {
    defaults: (w) => assert.deepStrictEqual([w.argv.slice(2), w.execArgv], [['defaults', 'a1', 'a2'], ['--no-warnings']]),
    merge: (w) => assert.deepStrictEqual([w.argv.slice(2), w.execArgv], [['merge', 'second'], ['--no-deprecation']]),
    exec: (w) => assert.strictEqual(w.argv[1], '<test>/scenarios/fixtures/argv-worker.js'),
    assign: (w) => assert.deepStrictEqual(w.execArgv, ['--no-deprecation']),
    cwd: (w) => assert.deepStrictEqual([w.cwd, w.cwdAsExpected], ['<tmp>', true]),
    cwd_empty: (w) => assert.strictEqual(w.cwdAsExpected, true),
    cwd_relative_exec: (w) => assert.strictEqual(w.cwd, '<test>/scenarios/fixtures'),
  };
  for (const [mode, check] of Object.entries(SETTINGS)) {
    it(`settings: ${mode} (settings.js)`, async (t) => {
      // Extra primary args and execArgv, to see the defaults carry them.
      const oracle = await agree(t, 'settings.js', { args: [mode, 'a1', 'a2'], execArgv: ['--no-warnings'] });
      assert.ok(events(oracle, 'P', 'C.setup').length >= 1, "'setup' is emitted for every fork");
      check(events(oracle, 'W1', 'started')[0]);
    });
  }

  for (const mode of ['default', 'silent', 'extra_pipe_fd4', 'ipc_fd4', 'short', 'negative_fd', 'many']) {
    it(`stdio: ${mode} (stdio.js)`, async (t) => {
      const oracle = await agree(t, 'stdio.js', { args: [mode] });
      const [done] = events(oracle, 'P', 'done');
      const expected = {
        default: {},
        silent: { stdout: true, stderr: true },
        extra_pipe_fd4: { fd4: true },
        ipc_fd4: { fd3: true },
        short: { stdout: true, stderr: true },
        negative_fd: { stdout: true, stderr: true },
        many: { fd70: true },
      }[mode];
      assert.deepStrictEqual(Object.fromEntries(Object.keys(done.texts).map((k) => [k, true])), expected);
    });
  }
});

describe('scheduling policy (sched.js)', { concurrency: 4 }, () => {
  const CASES = [
    ['observe', undefined, 2], ['observe', 'rr', 2], ['observe', 'none', 1], ['observe', 'bogus', 2],
    ['assign_before_fork', undefined, 1], ['assign_before_fork', 'none', 2],
    ['assign_after_fork', undefined, 2], ['assign_after_fork', 'none', 1],
    ['env_after_load', undefined, 2], ['env_after_load', 'none', 1],
    ['assign_bad', undefined, 1],
  ];
  for (const [mode, policy, effective] of CASES) {
    it(`${mode} with NODE_CLUSTER_SCHED_POLICY=${policy}`, async (t) => {
      const env = policy === undefined ? {} : { NODE_CLUSTER_SCHED_POLICY: policy };
      const oracle = await agree(t, 'sched.js', { args: [mode], env });
      const [msg] = events(oracle, 'P', 'message');
      assert.strictEqual(msg.workerHoldsListener, effective === 1, `effective policy ${effective}`);
    });
  }
});
