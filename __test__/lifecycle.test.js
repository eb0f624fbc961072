'use strict';
// Worker lifecycle: events and their order, states, exitedAfterDisconnect,
// cluster.workers membership, return values, for every way a worker can
// end (docs/PROTOCOL.md §5.1-5.6); workers that cannot start; cluster.disconnect().
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { agree, events } = require('./helpers/oracle');

// How each case ends, as docs/PROTOCOL.md §5.2/5.4 describes Node 20.
const ENDINGS = {
  primary_disconnect: { code: 0, signal: null, ead: true },
  primary_kill: { code: null, signal: 'SIGTERM', ead: false },
  primary_kill_sigkill: { code: null, signal: 'SIGKILL', ead: false },
  primary_destroy: { code: null, signal: 'SIGTERM', ead: false },
  process_kill: { code: null, signal: 'SIGTERM', ead: false },
  primary_process_disconnect: { code: 0, signal: null, ead: false },
  disconnect_then_kill: { code: null, signal: 'SIGTERM', ead: true },
  sigterm_handler: { code: 0, signal: null, ead: false },
  kill_before_online: { code: null, signal: 'SIGTERM', ead: false, noOnline: true },
  worker_disconnect: { code: 0, signal: null, ead: true },
  worker_kill: { code: 0, signal: null, ead: true },
  worker_destroy: { code: 0, signal: null, ead: true },
  worker_process_disconnect: { code: 0, signal: null, ead: false },
  worker_exit7: { code: 7, signal: null, ead: false },
  worker_throw: { code: 1, signal: null, ead: false },
};

describe('worker lifecycle (lifecycle.js)', { concurrency: 4 }, () => {
  for (const [mode, end] of Object.entries(ENDINGS)) {
    it(mode, async (t) => {
      const oracle = await agree(t, 'lifecycle.js', { args: [mode] });
      // The scenario really exercised what it claims.
      const names = events(oracle, 'P').map((o) => o.ev);
      const [exit] = events(oracle, 'P', 'C.exit');
      assert.deepStrictEqual([exit.code, exit.signal, exit.ead], [end.code, end.signal, end.ead]);
      assert.ok(names.indexOf('W.disconnect') < names.indexOf('W.exit'), "'disconnect' before 'exit' (5.3)");
      assert.strictEqual(names.includes('C.online'), !end.noOnline);
    });
  }
});

describe('workers that cannot run (bad-exec.js)', { concurrency: 3 }, () => {
  for (const mode of ['missing_script', 'syntax_error']) {
    it(`${mode}: online, then disconnect and exit code 1`, async (t) => {
      const oracle = await agree(t, 'bad-exec.js', { args: [mode] });
      const names = events(oracle, 'P').map((o) => o.ev);
      assert.ok(names.includes('C.online'), 'online is sent before the main module loads');
      assert.strictEqual(events(oracle, 'P', 'C.exit')[0].code, 1);
    });
  }
  it('missing_cwd: spawn fails, worker and ChildProcess emit error', async (t) => {
    const oracle = await agree(t, 'bad-exec.js', { args: ['missing_cwd'] });
    assert.strictEqual(events(oracle, 'P', 'W.error')[0].err.code, 'ENOENT');
  });
});

describe('cluster.disconnect() (cluster-disconnect.js)', { concurrency: 3 }, () => {
  it('with no workers: callback asynchronously, before setImmediate', async (t) => {
    const oracle = await agree(t, 'cluster-disconnect.js', { args: ['none'] });
    assert.deepStrictEqual(events(oracle, 'P').map((o) => o.ev).slice(2, 4),
      ['callback', 'setImmediate queued before']);
  });
  it('with one worker: callback after its disconnect, before its exit', async (t) => {
    const oracle = await agree(t, 'cluster-disconnect.js', { args: ['one'] });
    assert.deepStrictEqual(events(oracle, 'P').map((o) => o.ev),
      ['W.online', 'disconnect() returned', 'W.disconnect', 'C.disconnect', 'callback', 'W.exit', 'C.exit', 'primary exit']);
  });
  it('with two workers: all removed at once, callback before the first exit', async (t) => {
    const oracle = await agree(t, 'cluster-disconnect.js', { args: ['two'] });
    const [cb] = events(oracle, 'P', 'callback');
    assert.deepStrictEqual([cb.calls, cb.exitEventsBefore, cb.workers], [1, 0, []]);
    assert.strictEqual(events(oracle, 'P:w1', 'C.exit').length + events(oracle, 'P:w2', 'C.exit').length, 2);
  });
});

describe('the primary ends while workers run (primary-exit.js)', { concurrency: 3 }, () => {
  const endings = {
    exit: { code: 0, signal: null },
    throw: { code: 1, signal: null },
    signal: { code: null, signal: 'SIGTERM' },
  };
  for (const [how, expectExit] of Object.entries(endings)) {
    it(`${how}: every worker gets the last message and exits by itself, running its 'exit' listeners`, async (t) => {
      const oracle = await agree(t, 'primary-exit.js', { args: [how], expectExit });
      for (const w of ['W1', 'W2']) {
        assert.deepStrictEqual(events(oracle, w).map((o) => o.ev), ['got', 'worker exit']);
        assert.strictEqual(events(oracle, w, 'worker exit')[0].code, 0);
      }
    });
  }
});
