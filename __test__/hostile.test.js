'use strict';
// Hostile input from a worker (issue: reliability). Node's primary dies on most of these
// (docs/PROTOCOL.md §2.6); rust-cluster must disconnect only the offending worker with an 'error'
// event and keep serving the others. The oracle run is kept to show the input really is fatal
// to a stock primary, so the rust assertions test something real.
const { test } = require('node:test');
const assert = require('node:assert');
const { runScenario, events } = require('./helpers/oracle');

const fatal = ['garbage', 'blank', 'truncated_internal'];
const malformed = ['garbage', 'blank', 'utf8', 'truncated_internal', 'oversize'];

for (const mode of malformed) {
  test(`malformed input (${mode}): the worker is disconnected with an error, others carry on`, async () => {
    const runs = [runScenario('hostile.js', 'rust', { args: [mode], timeoutMs: 12000 })];
    if (fatal.includes(mode)) runs.push(runScenario('hostile.js', 'node', { args: [mode], timeoutMs: 12000 }));
    const [rust, node] = await Promise.all(runs);
    if (node) {
      assert.notStrictEqual(node.code, 0, `Node's primary was expected to die on ${mode}:\n${node.stdout}`);
    }
    assert.deepStrictEqual(rust.problems, [], rust.stderr);
    assert.strictEqual(rust.code, 0, rust.stderr);
    const p = rust.streams.P || [];
    const names = p.map((o) => o.ev);
    assert.deepStrictEqual(events(rust.streams, 'P', 'bad error'),
      [{ ev: 'bad error', err: { name: 'Error', code: 'ERR_IPC_MALFORMED_MESSAGE' }, mentionsWorker: true }]);
    assert.ok(names.indexOf('bad error') < names.indexOf('bad disconnect'), names.join(','));
    assert.ok(names.includes('bad exit'), names.join(','));
    assert.deepStrictEqual(events(rust.streams, 'P', 'bad message'), [], 'nothing after the bad frame is delivered');
    assert.ok(names.includes('good worker answered 5 pings'), names.join(','));
    assert.deepStrictEqual(events(rust.streams, 'P', 'good exit'), [{ ev: 'good exit', code: 0, pongsAtLeast5: true }]);
  });
}

test('well-formed internal messages with missing or wrong-typed fields are ignored', async () => {
  const rust = await runScenario('hostile.js', 'rust', { args: ['bad_fields'], timeoutMs: 12000 });
  assert.deepStrictEqual(rust.problems, [], rust.stderr);
  assert.strictEqual(rust.code, 0, rust.stderr);
  assert.deepStrictEqual(events(rust.streams, 'P', 'bad error'), []);
  assert.deepStrictEqual(events(rust.streams, 'P', 'bad message'), [{ ev: 'bad message', m: 'still here' }]);
  assert.deepStrictEqual(events(rust.streams, 'P', 'bad exit'), [{ ev: 'bad exit', code: 0, signal: null }]);
  assert.deepStrictEqual(events(rust.streams, 'P', 'good exit'), [{ ev: 'good exit', code: 0, pongsAtLeast5: true }]);
});
