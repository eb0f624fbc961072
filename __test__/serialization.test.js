'use strict';
// serialization: 'advanced' chosen through setupPrimary() and through
// cluster.settings (assigned and mutated): round trips of structured values
// both ways (circular objects, Map, Set, Date, BigInt, Buffer, every typed
// array, DataView, Error objects, RegExp, undefined properties, sparse
// arrays, non-Latin-1 strings, host objects), values send() must refuse
// (top-level BigInt among them), and server sharing in advanced mode.
// The same values in json mode are compared as well.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { agree, events } = require('./helpers/oracle');

const T = 20000;

// Labels that must come back deep-equal in advanced mode.
const EXACT = [
  'circular object', 'shared references', 'Map', 'Map with circular value', 'Set', 'Set containing itself',
  'nested Map in Set in Map', 'Date', 'BigInt nested', 'BigInt in Set', 'Buffer', 'Buffer from pool (small, offset)',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'DataView', 'typed array view at an offset',
  'ArrayBuffer', 'Error', 'TypeError', 'RegExp', 'undefined properties', 'sparse array',
  'very sparse array with a named property', 'non-Latin-1 strings', 'Latin-1 strings (one-byte)',
  'mixed string as a top-level value', 'long two-byte string', 'numbers', 'top-level -0', 'boxed primitives',
  'plain top-level array', 'plain numbers', 'plain strings needing escapes', 'plain object with numeric-like and odd keys',
  'plain nesting, 30 levels', 'plain empty containers', 'numeric-like keys', 'top-level true', 'top-level null',
];

function checkAdvanced(o) {
  for (const stream of ['echo', 'from worker']) {
    const byLabel = Object.fromEntries(events(o, 'P', stream).map((e) => [e.label, e]));
    for (const label of EXACT) assert.strictEqual(byLabel[label] && byLabel[label].same, true, `${stream}: ${label}`);
    const errs = byLabel['SyntaxError, EvalError, ReferenceError, URIError'].d.entries.map(([, d]) => [d.name, d.message]);
    assert.deepStrictEqual(errs, [['SyntaxError', 's'], ['EvalError', 'e'], ['ReferenceError', 'r'], ['URIError', 'u']]);
    assert.strictEqual(byLabel['circular object'].d.entries[1][1].ref, 0, 'self points at the root');
  }
  const refused = Object.fromEntries(events(o, 'P', 'unsendable').map((e) => [e.label, e]));
  assert.strictEqual(refused['top-level 1n'].code, 'ERR_INVALID_ARG_TYPE');
  assert.strictEqual(refused['top-level 1n'].threw, 'TypeError');
  assert.match(refused['function property'].message, /could not be cloned/);
}

describe('serialization', { concurrency: 2 }, () => {
  for (const how of ['setup', 'assign', 'mutate']) {
    it(`advanced via ${how}: round trips both ways, refused values (serial/roundtrip.js ${how})`, async (t) => {
      const o = await agree(t, 'serial/roundtrip.js', { args: [how], timeoutMs: T });
      assert.strictEqual(events(o, 'P', 'settings')[0].serialization, 'advanced');
      checkAdvanced(o);
    });
  }

  it('the same values in json mode (serial/roundtrip.js json)', async (t) => {
    const o = await agree(t, 'serial/roundtrip.js', { args: ['json'], timeoutMs: T });
    const byLabel = Object.fromEntries(events(o, 'P', 'echo').map((e) => [e.label, e]));
    assert.strictEqual(byLabel.Map.same, false, 'a Map does not survive json');
    assert.ok(events(o, 'P', 'send threw').some((e) => e.label === 'BigInt nested'), 'a nested BigInt throws in json mode');
  });

  for (const policy of ['rr', 'none']) {
    it(`server sharing in advanced mode, SCHED_${policy.toUpperCase()} (serial/share.js)`, async (t) => {
      const o = await agree(t, 'serial/share.js', { args: ['advanced'], env: { NODE_CLUSTER_SCHED_POLICY: policy }, timeoutMs: T });
      const r = events(o, 'P', 'reports')[0];
      assert.strictEqual(r.isMap, true);
      assert.strictEqual(r.sameTcpPort, true);
      const a = events(o, 'P', 'answers')[0];
      assert.deepStrictEqual([a.tcp, a.http, a.udp], [true, true, true]);
    });
  }
});
