'use strict';
// The primary's own writer of V8 bytes for plain data (lib/serialization.js,
// encodeAdvancedPlain): what V8's deserializer reads from its frames must be
// the value that was written, in every detail (types, key order, -0, lone
// surrogates, undefined properties); the bytes are V8's own for the common
// shapes; and everything outside plain data is left to v8.Serializer.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const v8 = require('node:v8');
const { encodeAdvanced, encodeAdvancedPlain, decodeAdvanced } = require('../lib/serialization.js');

// Exact structural equality: prototypes, own keys in order, Object.is on leaves.
function same(a, b) {
  if (typeof a !== typeof b) return false;
  if (a === null || typeof a !== 'object') return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false;
    if (ka[i] !== 'length' && !same(a[ka[i]], b[kb[i]])) return false;
  }
  return true;
}

// A small deterministic generator (xorshift32), so a failure can be replayed.
function generator(seed) {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
  const int = (n) => Math.floor(rnd() * n);
  const string = () => {
    let s = '';
    const n = rnd() < 0.1 ? 17 + int(60) : int(8);
    for (let i = 0; i < n; i++) {
      const r = rnd();
      s += String.fromCharCode(r < 0.5 ? int(128) : r < 0.8 ? int(256) : int(65536));
    }
    return s;
  };
  const leaf = () => {
    const k = rnd();
    if (k < 0.2) return int(2 ** 33) - 2 ** 32;
    if (k < 0.3) return (rnd() - 0.5) * 10 ** (int(600) - 300);
    if (k < 0.33) return [NaN, Infinity, -Infinity, undefined][int(4)];
    if (k < 0.6) return string();
    if (k < 0.7) return null;
    if (k < 0.8) return rnd() < 0.5;
    return -0;
  };
  const key = () => {
    const k = rnd();
    if (k < 0.3) return String(int(2 ** 33));
    if (k < 0.4) return String.fromCharCode(int(65536));
    if (k < 0.5) return String(-rnd());
    if (k < 0.55) return `0${int(10)}`;
    return `k${int(10)}`;
  };
  const value = (depth) => {
    const r = rnd();
    if (depth > 5 || r < 0.3) return leaf();
    if (r < 0.6) {
      const a = [];
      for (let i = int(5); i > 0; i--) a.push(value(depth + 1));
      return a;
    }
    const o = {};
    for (let i = int(5); i > 0; i--) o[key()] = value(depth + 1);
    return o;
  };
  return () => value(0);
}

describe('advanced frames written by the primary for plain data', () => {
  it('read back by V8 as exactly the value written (10,000 generated values)', () => {
    const next = generator(20261122);
    let written = 0;
    for (let i = 0; i < 10000; i++) {
      const v = next();
      const frame = encodeAdvancedPlain(v);
      if (frame === null) continue;
      written++;
      assert.strictEqual(frame.readUInt32BE(0), frame.length - 4, 'length prefix');
      const back = decodeAdvanced(frame);
      assert.ok(same(back, v), `value ${i} differs: ${v8.serialize(v).toString('hex')}`);
    }
    // Almost all generated values are plain; only a top-level undefined is not sent.
    assert.ok(written > 9000, `only ${written} values took the plain path`);
  });

  it("the bytes are V8's for common messages", () => {
    for (const v of [
      'hello world!', { action: 'pewpewpew', powerLevel: 9001 }, '', 'é✓😀'.repeat(9), 'ÿ'.repeat(40),
      { cmd: 'job', id: 12, args: ['a', 'b'], opts: { retry: true, delay: null } }, [1, 'two', null, true],
      { 0: 'zero', 7: 'seven', 2147483648: 'big index', name: 'x' }, { nested: { deeper: { deepest: [[], {}] } } },
      -0, 1.5, 2 ** 31, -(2 ** 31), 0x7fffffff, { ['__proto__']: 1 }, 'x'.repeat(2000),
    ]) {
      assert.deepStrictEqual(encodeAdvancedPlain(v), encodeAdvanced(v), JSON.stringify(v));
    }
  });

  it('leaves everything else to v8.Serializer', () => {
    const circular = {};
    circular.self = circular;
    const shared = {};
    const holey = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const named = [1, 2];
    named.extra = true;
    let deep = {};
    for (let i = 0; i < 40; i++) deep = { deep };
    const others = [
      new Proxy({}, {}), [new Proxy([], {})], (function args() { return arguments; })(1), Object.create(null),
      new Date(0), new Map(), new Set(), Buffer.from('x'), new Uint8Array(2), /re/, new Error('e'), Object(1),
      { f() {} }, { s: Symbol('s') }, { b: 1n }, circular, [shared, shared], holey, named, deep,
      new (class Custom {})(), 'x'.repeat(9000), { big: 'é✓'.repeat(3000) },
    ];
    for (const v of others) assert.strictEqual(encodeAdvancedPlain(v), null, String(Object.prototype.toString.call(v)));
  });

  it('a getter that sends while a frame is being written does not disturb it', () => {
    const inner = { nested: 'sent from a getter' };
    let innerFrame;
    const outer = {
      before: 'x'.repeat(30),
      get trigger() {
        innerFrame = encodeAdvancedPlain(inner) || encodeAdvanced(inner);
        return 7;
      },
      after: ['y', -0],
    };
    const frame = encodeAdvancedPlain(outer);
    assert.ok(same(decodeAdvanced(frame), { before: 'x'.repeat(30), trigger: 7, after: ['y', -0] }));
    assert.ok(same(decodeAdvanced(innerFrame), inner));
  });

  it('a frame is its own buffer, not a view of the next one', () => {
    const a = encodeAdvancedPlain({ first: 1 });
    const copy = Buffer.from(a);
    encodeAdvancedPlain({ second: 'overwrites the scratch space' });
    assert.deepStrictEqual(a, copy);
  });
});
