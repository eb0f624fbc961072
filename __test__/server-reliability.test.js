'use strict';
// Where rust-cluster is meant to do better than Node's cluster. These cases
// assert rust-cluster's result only. Node's cluster runs the same scenario
// afterwards for the record: its result is printed as a diagnostic and
// quoted in the failure message, but it never fails a test.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { runScenario, events, normalize } = require('./helpers/oracle');

// The scenario's result under rust-cluster, plus the oracle's for comparison.
async function both(t, file, args, timeoutMs) {
  const rust = await runScenario(file, 'rust', { args, timeoutMs });
  const node = await runScenario(file, 'node', { args, timeoutMs });
  const pick = (r) => ({
    exit: { code: r.code, signal: r.signal }, problems: r.problems, result: events(r.streams, 'P', 'result')[0],
    other: Object.fromEntries(Object.entries(normalize(r.streams)).map(([k, v]) => [k, v.filter((o) => o.ev !== 'result')]).filter(([, v]) => v.length)),
  });
  const out = { rust: pick(rust), node: pick(node) };
  t.diagnostic(`rust-cluster: ${JSON.stringify(out.rust.result)}`);
  t.diagnostic(`node cluster (for comparison; asserted only where a test says): ${JSON.stringify(out.node.result)}`);
  out.context = `\nrust-cluster run: ${JSON.stringify(out.rust)}\nrust stderr: ${rust.stderr.slice(-1500)}\n`
    + `node cluster (for comparison; asserted only where a test says): ${JSON.stringify(out.node)}`;
  assert.deepStrictEqual([out.rust.exit, out.rust.problems], [{ code: 0, signal: null }, []], `rust-cluster run did not end cleanly${out.context}`);
  assert.ok(out.rust.result, `no result from rust-cluster${out.context}`);
  return out;
}

describe('rust-cluster beyond Node', { concurrency: 1 }, () => {
  it('(a) requests are answered while the primary JS thread is blocked for 2 s', async (t) => {
    const { rust: { result: r }, context } = await both(t, 'server/block.js', [], 20000);
    assert.ok(r.blockedFor >= 2000, `the primary really blocked${context}`);
    assert.deepStrictEqual(r.failed, [], `no request failed${context}`);
    assert.ok(r.startedInBlock >= 10, `the client kept requesting during the block${context}`);
    assert.strictEqual(r.answeredInBlock, r.startedInBlock, `every request started during the block was answered during it${context}`);
  });

  it('(b) 10,000 short round-robin connections leave the primary fd count unchanged (±2)', async (t) => {
    const { rust: { result: r }, context } = await both(t, 'server/fdleak.js', ['10000'], 45000);
    assert.deepStrictEqual([r.ok, r.failed], [10000, 0], `every connection answered${context}`);
    assert.ok(Math.abs(r.fdsAfter - r.fdsBefore) <= 2, `fds before ${r.fdsBefore}, after ${r.fdsAfter}${context}`);
  });

  for (const mode of ['blocked', 'busy']) {
    it(`(c) a worker SIGKILLed while connections are handed to it: the other worker answers them (${mode})`, async (t) => {
      const { rust: { result: r }, context } = await both(t, 'server/sigkill.js', [mode], 20000);
      assert.deepStrictEqual(r.exits, [{ id: 1, code: null, signal: 'SIGKILL' }], `W1 was killed${context}`);
      assert.ok(r.answeredByW2AfterKill > 0, `W2 kept answering after the kill${context}`);
      if (mode === 'blocked') assert.strictEqual(r.w1AcceptedDuringLoad, 0, `a blocked W1 accepts nothing${context}`);
      assert.deepStrictEqual(r.unexcused, [], `only connections W1 had accepted may fail${context}`);
    });
  }

  it('(e) a worker that listens and sends while the primary JS thread is blocked: the engine takes reading back', async (t) => {
    const { rust: { result: r }, node: { result: n }, context } = await both(t, 'server/block-listen.js', [], 20000);
    assert.ok(r.blockedFor >= 2000, `the primary really blocked${context}`);
    // The worker listens 0.3 s into the block; the engine takes the channel back from the
    // blocked JS thread within its watchdog's 250 ms tick, and serves the round-robin handle.
    assert.ok(r.firstAnswerBeforeBlockEnd >= 1000, `answered well before the block ended${context}`);
    assert.ok(r.answeredInBlock > 0, `connections answered during the block${context}`);
    assert.deepStrictEqual([r.messages, r.inOrder], [200, true], `the messages all arrived, in order${context}`);
    // What the worker sent reaches 'message' as under Node's primary, which reads it after the block.
    assert.ok(n, `no result from node cluster${context}`);
    assert.deepStrictEqual([r.messages, r.inOrder], [n.messages, n.inOrder], `the messages as under node:cluster${context}`);
  });

  it('(f) an idle primary sleeps: a handful of thread switches in 2 s', async (t) => {
    const { rust: { result: r }, context } = await both(t, 'idle.js', [], 20000);
    assert.ok(r.switchesIn2s <= 10, `${r.switchesIn2s} switches${context}`);
  });

  it('(d) the last worker SIGKILLed with a connection in flight: that client is closed too, not left hanging', async (t) => {
    const { rust: { result: r }, context } = await both(t, 'server/lastworker.js', [], 20000);
    assert.deepStrictEqual(r.results, ['closed', 'closed', 'closed'], `every waiting client sees its connection closed${context}`);
    assert.strictEqual(r.newConnection, 'ECONNREFUSED', `the listening socket is closed${context}`);
  });
});
