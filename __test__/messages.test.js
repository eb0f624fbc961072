'use strict';
// User messages: every JSON type both ways, unicode, 1 MiB, messages that
// look internal, listener arguments, send() return values and callbacks,
// send() argument errors and sending on a closed channel.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { agree, events } = require('./helpers/oracle');

describe('messages', { concurrency: 2 }, () => {
  it('round trips, return values, callbacks, listener arguments (messages.js)', async (t) => {
    const oracle = await agree(t, 'messages.js');
    const echoes = events(oracle, 'P', 'echo');
    assert.ok(echoes.length >= 30 && echoes.every((e) => e.same), 'every value came back unchanged');
    const big = events(oracle, 'P', 'sent').find((o) => /^<string length=1048576/.test(o.value));
    assert.strictEqual(big.ret, false, 'a 1 MiB send() returns false (over 128 KiB queued)');
    assert.deepStrictEqual(events(oracle, 'P', 'after worker sent NODE_FOO').map((o) => o.msg), ['after-internal-back']);
    assert.ok(!events(oracle, 'W1', 'recv').some((o) => o.value && /^NODE_/.test(o.value.cmd || '') && o.value.cmd.length > 5),
      'NODE_-prefixed messages never reach user listeners');
  });

  for (const mode of ['json', 'advanced']) {
    it(`bursts, a string sent to every worker, answers sent from listeners, ${mode} (bursts.js)`, async (t) => {
      const oracle = await agree(t, 'bursts.js', { args: [mode] });
      const reports = ['P:w1', 'P:w2', 'P:w3'].map((lane) => events(oracle, lane, 'phase1 report')[0]);
      const [a, b] = [reports[0].m[0], reports[0].m[1]];
      assert.notStrictEqual(a, b, 'the two strings differ');
      for (const r of reports) assert.deepStrictEqual(r.m, [a, b, a, { k: a }, { k: b }]);
      const done = ['W1', 'W2'].map((w) => events(oracle, w, 'worker disconnect')[0]);
      assert.deepStrictEqual(done.map((d) => [d.answers, d.inOrder, d.handles]), [[300, true, 0], [300, true, 1]]);
    });
  }

  it('send() errors and sending on a closed channel (send-errors.js)', async (t) => {
    const oracle = await agree(t, 'send-errors.js');
    const bad = Object.fromEntries(events(oracle, 'P', 'bad send').map((o) => [o.label, o.code]));
    assert.strictEqual(bad['send(undefined)'], 'ERR_MISSING_ARGS');
    assert.strictEqual(bad['send(Symbol())'], 'ERR_INVALID_ARG_TYPE');
    assert.strictEqual(bad['send(function)'], 'ERR_INVALID_ARG_TYPE');
    const late = events(oracle, 'P', 'callback').find((o) => o.label === 'in disconnect handler');
    assert.strictEqual(late.err.code, 'ERR_IPC_CHANNEL_CLOSED');
    assert.strictEqual(events(oracle, 'P', 'W.error')[0].err.code, 'ERR_IPC_CHANNEL_CLOSED');
  });
});
