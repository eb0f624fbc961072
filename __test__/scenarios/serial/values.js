'use strict';
// Values for the serial-*.js scenarios, built the same way in the primary
// and in the worker, and a describer that turns any received value into
// JSON that shows its exact structure (types, holes, shared and circular
// references, typed array bytes, -0, NaN, bigints, prototypes).
const crypto = require('node:crypto');
const v8 = require('node:v8');

// [label, () => value]: fresh objects on every call.
function build() {
  const circular = { name: 'root' };
  circular.self = circular;
  circular.list = [circular, { back: circular }];
  const shared = { s: 1 };
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  sparse[20] = 'twenty';
  const bigSparse = [];
  bigSparse[5000] = 'far';
  bigSparse.extra = 'prop';
  const arrWithProps = [1, 2];
  arrWithProps.named = 'x';
  const cyclicMap = new Map();
  cyclicMap.set('me', cyclicMap);
  const cyclicSet = new Set();
  cyclicSet.add(cyclicSet);
  const ab = new ArrayBuffer(8);
  new Uint8Array(ab).set([1, 2, 3, 4, 5, 6, 7, 8]);
  const backing = new ArrayBuffer(32);
  new Uint8Array(backing).forEach((_, i, a) => { a[i] = i; });
  const errWithProps = new RangeError('out of range');
  errWithProps.code = 'E_CUSTOM';
  errWithProps.extra = { n: 1 };
  class Custom { constructor() { this.x = 1; } get y() { return 2; } }
  const withSymbolKey = { visible: 1, [Symbol('hidden')]: 2 };
  Object.defineProperty(withSymbolKey, 'nonEnum', { value: 3, enumerable: false });
  const getter = { get g() { return 'computed'; } };
  const nullProto = Object.create(null);
  nullProto.a = 1;
  return [
    ['circular object', () => circular],
    ['shared references', () => ({ a: shared, b: shared, arr: [shared, shared] })],
    ['Map', () => new Map([['a', 1], [2, 'two'], [{ k: 1 }, [1, 2]], [null, undefined], [NaN, 'nan']])],
    ['Map with circular value', () => cyclicMap],
    ['Set', () => new Set([1, 'a', { o: 1 }, [2], null, undefined, NaN])],
    ['Set containing itself', () => cyclicSet],
    ['nested Map in Set in Map', () => new Map([['s', new Set([new Map([[1, new Set([2])]])])]])],
    ['Date', () => new Date(Date.UTC(2020, 1, 29, 12, 34, 56, 789))],
    ['Date: epoch, negative, invalid', () => [new Date(0), new Date(-1e12), new Date(NaN)]],
    ['BigInt nested', () => ({ small: 1n, neg: -42n, huge: 2n ** 200n, arr: [0n, -(2n ** 64n)], m: new Map([[1n, 2n]]) })],
    ['BigInt in Set', () => new Set([1n, 2n ** 70n])],
    ['Buffer', () => Buffer.from([1, 2, 3, 255, 0])],
    ['Buffer from pool (small, offset)', () => Buffer.from('pooled bytes')],
    ['empty Buffer', () => Buffer.alloc(0)],
    ['Int8Array', () => new Int8Array([-128, -1, 0, 1, 127])],
    ['Uint8Array', () => new Uint8Array([0, 1, 128, 255])],
    ['Uint8ClampedArray', () => new Uint8ClampedArray([0, 300, -5, 128])],
    ['Int16Array', () => new Int16Array([-32768, -1, 0, 32767])],
    ['Uint16Array', () => new Uint16Array([1, 65535])],
    ['Int32Array', () => new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1])],
    ['Uint32Array', () => new Uint32Array([0, 2 ** 32 - 1])],
    ['Float32Array', () => new Float32Array([1.5, -0, NaN, Infinity, -Infinity, 3.4e38])],
    ['Float64Array', () => new Float64Array([Math.PI, -0, NaN, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE])],
    ['BigInt64Array', () => new BigInt64Array([-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n])],
    ['BigUint64Array', () => new BigUint64Array([0n, 2n ** 64n - 1n])],
    ['DataView', () => new DataView(backing, 4, 8)],
    ['typed array view at an offset', () => new Uint16Array(backing, 6, 3)],
    ['ArrayBuffer', () => ab],
    ['typed arrays sharing one buffer', () => { const b = new ArrayBuffer(8); return { a: new Uint8Array(b), b: new Uint32Array(b) }; }],
    ['views in an object', () => ({ u8: new Uint8Array([9]), buf: Buffer.from('x'), dv: new DataView(new ArrayBuffer(2)) })],
    ['Error', () => new Error('plain error')],
    ['TypeError', () => new TypeError('bad type')],
    ['RangeError with own props', () => errWithProps],
    ['SyntaxError, EvalError, ReferenceError, URIError', () => [new SyntaxError('s'), new EvalError('e'), new ReferenceError('r'), new URIError('u')]],
    ['Error subclass', () => { class MyError extends Error {} return new MyError('mine'); }],
    ['Error with cause', () => new Error('outer', { cause: new Error('inner') })],
    ['error in an object', () => ({ err: new TypeError('nested') })],
    ['RegExp', () => /a+b?\/c[^d]$/gimsuy],
    ['RegExp with d flag and lastIndex', () => { const r = /x/dg; r.lastIndex = 3; return r; }],
    ['undefined properties', () => ({ a: undefined, b: 1, c: [undefined, 2], d: { e: undefined } })],
    ['sparse array', () => sparse],
    ['very sparse array with a named property', () => bigSparse],
    ['array with a named property', () => arrWithProps],
    ['array of holes only', () => new Array(5)],
    ['non-Latin-1 strings', () => ['é✓', '😀 emoji', 'Ĳ', 'ﬀ', '中文字符', 'кириллица', '\u2028\u2029', 'lone \ud800 surrogate', '\udc00 low']],
    ['Latin-1 strings (one-byte)', () => ['café', 'ÿ\u0080\u00ff', 'plain ascii', '\u0000nul', '']],
    ['mixed string as a top-level value', () => 'top-level é✓ 😀 \ud83d'],
    ['long two-byte string', () => 'ж'.repeat(70000)],
    ['numbers', () => [0, -0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1.5, NaN, Infinity, -Infinity, 5e-324]],
    ['top-level -0', () => -0],
    ['top-level NaN', () => NaN],
    ['boxed primitives', () => [Object(1), Object('s'), Object(true), Object(false), Object(10n)]],
    ['class instance', () => new Custom()],
    ['object with symbol key and non-enumerable property', () => withSymbolKey],
    ['getter', () => getter],
    ['null prototype', () => nullProto],
    ['numeric-like keys', () => ({ 1: 'one', 0: 'zero', '-1': 'minus', 1.5: 'x', 4294967295: 'max' })],
    ['deep nesting', () => { let o = { leaf: true }; for (let i = 0; i < 200; i++) o = { i, o }; return o; }],
    ['plain top-level array', () => [1, 'two', null, true]],
    // Plain data only (no undefined, holes, NaN or shared objects): the kind of value a
    // primary may read as JSON text instead of through V8's deserializer.
    ['plain numbers', () => [0, -0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 53, 1.5,
      -2.5e-7, 1e21, 1e-7, 123.456, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 0.1 + 0.2]],
    ['plain strings needing escapes', () => ['"quoted" \\ back/slash', 'line\nbreak\r\t\b\f\u0001\u001f\u007f\u0080',
      'é✓😀', 'lone \ud800 x \udfff', '\ud83d', '\u2028\u2029', '', '\u0000', 'ÿ']],
    ['plain object with numeric-like and odd keys', () => ({
      b: 1, 1: 'one', 0: 'zero', '-1': 'minus', 1.5: 'x', 4294967295: 'max', 4294967294: 'last index',
      '': 'empty key', ['__proto__']: { own: true }, 'é✓': 'wide key', 'a"b\\c\n': 'escaped key', '-0': 'minus zero key',
    })],
    ['plain nesting, 30 levels', () => { let o = [0]; for (let i = 0; i < 30; i++) o = { i, o: [o, -0, 'x'] }; return o; }],
    ['plain empty containers', () => ({ o: {}, a: [], n: [[], [{}]], s: '' })],
    ['top-level true', () => true],
    ['top-level null', () => null],
    ['NODE_-looking user object', () => ({ cmd: 'NODE_', m: new Map() })],
    // Objects with internal fields: Node writes other host objects as a
    // plain object of their own enumerable properties.
    ['host object (v8.Serializer)', () => ({ h: new v8.Serializer() })],
    ['host object with own properties (v8.Deserializer)', () => new v8.Deserializer(Buffer.from([1, 2]))],
  ];
}

// Values that send() must refuse: [label, () => value].
function unsendable() {
  return [
    ['top-level 1n', () => 1n],
    ['top-level BigInt(2 ** 70)', () => 2n ** 70n],
    ['top-level undefined', () => undefined],
    ['top-level Symbol', () => Symbol('s')],
    ['top-level function', () => function f() {}],
    ['function property', () => ({ f() {} })],
    ['arrow in an array', () => [1, () => 2]],
    ['symbol property value', () => ({ s: Symbol('x') })],
    ['WeakMap', () => new WeakMap()],
    ['WeakSet', () => ({ w: new WeakSet() })],
    ['Promise', () => ({ p: Promise.resolve(1) })],
    ['SharedArrayBuffer', () => new SharedArrayBuffer(4)],
    ['Proxy', () => ({ p: new Proxy({}, {}) })],
  ];
}

const VIEW_NAMES = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];

function num(x) {
  if (Object.is(x, -0)) return '-0';
  if (typeof x === 'bigint') return `${x}n`;
  return Number.isFinite(x) ? x : String(x);
}

function hex(u8) {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('hex');
}

function protoName(v) {
  const p = Object.getPrototypeOf(v);
  if (p === null) return null;
  return p.constructor && p.constructor.name;
}

// Structure of `v` as JSON-friendly data. Objects get ids in visiting
// order; a repeated object shows as { ref: id }.
function describe(v, seen = new Map()) {
  if (v === undefined) return { undefined: true };
  if (v === null) return null;
  switch (typeof v) {
    case 'number': return { number: num(v) };
    case 'bigint': return { bigint: String(v) };
    case 'string': return v.length > 200 ? { string: `<length ${v.length}, ${v.slice(0, 20)}…>` } : { string: v };
    case 'boolean': return v;
    case 'symbol': return { symbol: String(v) };
    case 'function': return { function: v.name };
    default:
  }
  if (seen.has(v)) return { ref: seen.get(v) };
  const id = seen.size;
  seen.set(v, id);
  const props = (keys) => keys.map((k) => [k, describe(v[k], seen)]);
  if (Array.isArray(v)) {
    return { array: id, length: v.length, entries: props(Object.keys(v)) };
  }
  if (v instanceof Date) return { date: id, iso: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() };
  if (v instanceof RegExp) return { regexp: id, source: v.source, flags: v.flags, lastIndex: v.lastIndex };
  if (v instanceof Map) return { map: id, entries: [...v].map(([k, x]) => [describe(k, seen), describe(x, seen)]) };
  if (v instanceof Set) return { set: id, values: [...v].map((x) => describe(x, seen)) };
  if (v instanceof Error) {
    return {
      error: id, proto: protoName(v), name: v.name, message: v.message,
      ownKeys: Object.getOwnPropertyNames(v).filter((k) => k !== 'stack').sort(),
      stackIsString: typeof v.stack === 'string',
      cause: 'cause' in v ? describe(v.cause, seen) : '<none>',
      enumerable: props(Object.keys(v)),
    };
  }
  if (v instanceof ArrayBuffer) return { arrayBuffer: id, bytes: hex(new Uint8Array(v)) };
  if (ArrayBuffer.isView(v)) {
    const out = {
      view: id, proto: protoName(v), isBuffer: Buffer.isBuffer(v), byteLength: v.byteLength,
      bytes: hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)),
    };
    if (VIEW_NAMES.includes(protoName(v)) || Buffer.isBuffer(v)) out.values = Array.from(v, num);
    out.entries = props(Object.keys(v).filter((k) => !/^\d+$/.test(k)));
    return out;
  }
  if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) {
    return { boxed: id, proto: protoName(v), value: describe(v.valueOf(), seen) };
  }
  return {
    object: id, proto: protoName(v),
    entries: props(Object.keys(v)),
    symbolKeys: Object.getOwnPropertySymbols(v).length,
  };
}

// Primary and worker share stdout: an observation must stay below PIPE_BUF
// (4096 bytes) to be written in one piece. Long descriptions are shown as
// their length, hash and beginning.
function compact(d) {
  const json = JSON.stringify(d);
  if (json.length <= 1500) return d;
  return { long: json.length, sha256: crypto.createHash('sha256').update(json).digest('hex').slice(0, 32), head: json.slice(0, 300) };
}

module.exports = { build, unsendable, describe, compact };
