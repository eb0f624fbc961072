'use strict';
// Large messages in both serialization modes and both directions: 64 MiB in
// one message arrives intact (length and SHA-256), send() returns false and
// calls back with null, and the primary's peak RSS (VmHWM) stays
// proportional to the message: rust-cluster's peak may be at most 1.5x
// Node's plus 64 MiB. Also a multi-byte UTF-8 string in json mode.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { agreeMeasured, events } = require('./helpers/oracle');

const MiB = 1024 * 1024;

function checkIntact(o, dir) {
  const expected = events(o, dir === 'p2w' ? 'P' : 'W1', 'expected')[0];
  const got = events(o, 'P', dir === 'p2w' ? 'worker got' : 'primary got')[0];
  assert.ok(expected && got, 'both ends reported');
  assert.strictEqual(got.isRightType, true);
  assert.strictEqual(got.length, expected.length);
  assert.strictEqual(got.sha256, expected.sha256);
  const sender = dir === 'p2w' ? 'P' : 'W1';
  assert.strictEqual(events(o, sender, 'send returned')[0].ret, false, 'over 128 KiB queued: send() returns false');
  assert.strictEqual(events(o, sender, 'send callback')[0].err, null);
}

describe('large messages: 64 MiB, peak RSS of the primary', { concurrency: 1 }, () => {
  for (const mode of ['json', 'advanced']) {
    for (const dir of ['p2w', 'w2p']) {
      it(`${mode} ${dir === 'p2w' ? 'primary -> worker' : 'worker -> primary'} (large-transfer.js ${mode} ${dir} 64)`, async (t) => {
        const { oracle, measures } = await agreeMeasured(t, 'large-transfer.js', { args: [mode, dir, '64'], timeoutMs: 50000 });
        checkIntact(oracle, dir);
        assert.strictEqual(events(oracle, dir === 'p2w' ? 'P' : 'W1', 'expected')[0].length, 64 * MiB);
        const node = measures.oracle;
        const cand = measures.candidate;
        assert.ok(node && cand, 'both primaries reported their peak RSS');
        const size = 64 * 1024; // KiB
        for (const [who, m] of [['node', node], ['candidate', cand]]) {
          assert.ok(m.hwmKiB - m.hwmBeforeKiB <= 8 * size, `${who}: peak RSS grew by more than 8x the message: ${JSON.stringify(m)}`);
        }
        assert.ok(cand.hwmKiB <= 1.5 * node.hwmKiB + size,
          `peak RSS of the primary: rust-cluster ${cand.hwmKiB} KiB > 1.5 x Node's ${node.hwmKiB} KiB + 64 MiB`);
      });
    }
  }
});

describe('large messages: multi-byte UTF-8 in json mode', { concurrency: 2 }, () => {
  for (const dir of ['p2w', 'w2p']) {
    it(`4 MiB of 1- to 4-byte characters, ${dir} (large-transfer.js json-utf8 ${dir} 4)`, async (t) => {
      const { oracle } = await agreeMeasured(t, 'large-transfer.js', { args: ['json-utf8', dir, '4'], timeoutMs: 30000 });
      checkIntact(oracle, dir);
    });
  }
});
