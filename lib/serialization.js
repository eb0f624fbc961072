'use strict';
// Message encoding for the channel, per serialization mode (the worker's Node does the same):
// json: JSON text + "\n"; advanced: 4-byte big-endian length + V8 serializer output, with
// ArrayBufferViews as host objects (type 0) and other host objects as plain objects (type 1).

const v8 = require('v8');

class ChannelSerializer extends v8.DefaultSerializer {
  _writeHostObject(object) {
    if (ArrayBuffer.isView(object)) {
      this.writeUint32(0);
      return super._writeHostObject(object);
    }
    this.writeUint32(1);
    this.writeValue({ ...object });
  }
}

class ChannelDeserializer extends v8.DefaultDeserializer {
  _readHostObject() {
    const kind = this.readUint32();
    if (kind === 0) return super._readHostObject();
    return this.readValue();
  }
}

const LENGTH_PLACEHOLDER = Buffer.alloc(4);

function encodeJson(message) {
  return Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
}

function encodeAdvanced(message) {
  const ser = new ChannelSerializer();
  // Room for the length, filled in once it is known: the frame needs no second copy.
  ser.writeRawBytes(LENGTH_PLACEHOLDER);
  ser.writeHeader();
  ser.writeValue(message);
  const frame = ser.releaseBuffer();
  frame.writeUInt32BE(frame.length - 4, 0);
  return frame;
}

// The same bytes for plain data, written here: a v8.Serializer costs a C++ object, a global
// handle and several allocations per message (about 2 µs for a short string on this class of
// machine), which dominates small messages. Plain data: strings, numbers, booleans, null,
// undefined, arrays without holes or named properties, and objects whose prototype is
// Object.prototype (not proxies, not arguments objects), each object appearing once. Anything
// else, deeper than MAX_FAST_DEPTH or larger than the scratch buffer, returns null and goes
// through the serializer, which also raises the errors. What the worker's deserializer reads
// is the same value either way (a getter met before the writer gives up runs again in the
// serializer, once more than in Node). The bytes are V8's too, except where V8 looks at how a
// value is stored: an integral number kept as a double is written as one ('N'), and an array
// that once had holes in the sparse form ('a'); here both take the compact form ('I', 'A').
// A send made by a getter while a frame is being written here goes through the serializer.
const MAX_FAST_DEPTH = 32;
const MAX_FAST_OBJECTS = 64;
const scratch = Buffer.allocUnsafeSlow(8192);
const seen = [];
let pos = 0;
let writing = false;

const Bail = Symbol('bail');
const ObjectPrototype = Object.prototype;
const { isProxy, isArgumentsObject } = require('util').types;

function room(n) {
  if (pos + n > scratch.length) throw Bail;
}

function putVarint(v) {
  room(5);
  while (v >= 0x80) {
    scratch[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  scratch[pos++] = v;
}

function varintSize(v) {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

// Short strings are copied by a loop here, longer ones by Buffer's native writers.
const SHORT_STRING = 16;
// eslint-disable-next-line no-control-regex -- the Latin-1 range starts at U+0000
const WIDE_CHAR = /[^\u0000-\u00ff]/;

function putString(str) {
  const len = str.length;
  room(len + 6);
  let oneByte = true;
  if (len > SHORT_STRING) {
    oneByte = !WIDE_CHAR.test(str);
  } else {
    for (let i = 0; i < len; i++) {
      if (str.charCodeAt(i) > 0xff) {
        oneByte = false;
        break;
      }
    }
  }
  if (oneByte) {
    scratch[pos++] = 0x22; // '"'
    putVarint(len);
    if (len > SHORT_STRING) {
      pos += scratch.latin1Write(str, pos);
    } else {
      for (let i = 0; i < len; i++) scratch[pos++] = str.charCodeAt(i);
    }
    return;
  }
  const bytes = len * 2;
  room(bytes + 7);
  // V8 aligns two-byte string data to an even offset with a padding tag.
  if ((pos + 1 + varintSize(bytes)) & 1) scratch[pos++] = 0x00;
  scratch[pos++] = 0x63; // 'c'
  putVarint(bytes);
  pos += scratch.ucs2Write(str, pos);
}

function putNumber(n) {
  room(9);
  if ((n | 0) === n && !Object.is(n, -0)) {
    scratch[pos++] = 0x49; // 'I', zigzag varint
    putVarint(n >= 0 ? n * 2 : -n * 2 - 1);
  } else {
    scratch[pos++] = 0x4e; // 'N'
    pos = scratch.writeDoubleLE(n, pos);
  }
}

// An own enumerable key as V8 writes it: array indices as numbers, other keys as strings.
function putKey(key) {
  const c = key.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39 && (key.length === 1 || c !== 0x30) && key.length <= 10 && /^\d+$/.test(key)) {
    const n = Number(key);
    if (n <= 4294967294) {
      putNumber(n); // an int32 as 'I', a larger index as 'N', as V8 writes them
      return;
    }
  }
  putString(key);
}

function putValue(v, depth) {
  switch (typeof v) {
    case 'string': return putString(v);
    case 'number': return putNumber(v);
    case 'boolean':
      room(1);
      scratch[pos++] = v ? 0x54 : 0x46; // 'T' 'F'
      return;
    case 'undefined':
      room(1);
      scratch[pos++] = 0x5f; // '_'
      return;
    case 'object': break;
    default: throw Bail;
  }
  if (v === null) {
    room(1);
    scratch[pos++] = 0x30; // '0'
    return;
  }
  if (depth >= MAX_FAST_DEPTH || seen.length >= MAX_FAST_OBJECTS || seen.includes(v)) throw Bail;
  seen.push(v);
  if (Array.isArray(v)) {
    if (isProxy(v)) throw Bail;
    const len = v.length;
    room(1);
    scratch[pos++] = 0x41; // 'A'
    putVarint(len);
    for (let i = 0; i < len; i++) {
      const e = v[i];
      if (e === undefined && !(i in v)) throw Bail;
      putValue(e, depth + 1);
    }
    // No holes, so any key beyond the indices is a named property.
    if (Object.keys(v).length !== len) throw Bail;
    room(1);
    scratch[pos++] = 0x24; // '$'
    putVarint(0);
    putVarint(len);
    return;
  }
  // isProxy first: getPrototypeOf on a proxy would run its trap.
  if (isProxy(v) || Object.getPrototypeOf(v) !== ObjectPrototype || isArgumentsObject(v)) throw Bail;
  const keys = Object.keys(v);
  room(1);
  scratch[pos++] = 0x6f; // 'o'
  for (let i = 0; i < keys.length; i++) {
    putKey(keys[i]);
    putValue(v[keys[i]], depth + 1);
  }
  room(1);
  scratch[pos++] = 0x7b; // '{'
  putVarint(keys.length);
}

// The whole frame (length prefix included) for plain data, or null.
function encodeAdvancedPlain(message) {
  if (writing) return null; // the scratch space holds the frame of the send that called us
  writing = true;
  pos = 4;
  seen.length = 0;
  try {
    scratch[pos++] = 0xff; // header: version 15
    scratch[pos++] = 0x0f;
    putValue(message, 0);
  } catch (e) {
    if (e === Bail) return null;
    throw e;
  } finally {
    seen.length = 0;
    writing = false;
  }
  scratch.writeUInt32BE(pos - 4, 0);
  const frame = Buffer.allocUnsafe(pos);
  scratch.copy(frame, 0, 0, pos);
  return frame;
}

// A frame as the engine delivers it: the 4-byte length, then the serializer's bytes.
function decodeAdvanced(frame) {
  const des = new ChannelDeserializer(frame.subarray(4));
  des.readHeader();
  return des.readValue();
}

// A string is immutable, so its frame can be reused: a loop that sends the same long string to
// every worker (a broadcast) serializes it once. One entry per mode, kept until the current
// synchronous run and its microtasks end, so no frame outlives the burst that used it.
const MIN_CACHED = 1024;
const cache = { json: { text: null, frame: null }, advanced: { text: null, frame: null } };
let clearQueued = false;

function clearCache() {
  clearQueued = false;
  cache.json.text = cache.json.frame = null;
  cache.advanced.text = cache.advanced.frame = null;
}

function encodeFrame(message, advanced) {
  if (typeof message !== 'string' || message.length < MIN_CACHED) {
    if (!advanced) return encodeJson(message);
    return encodeAdvancedPlain(message) || encodeAdvanced(message);
  }
  const slot = advanced ? cache.advanced : cache.json;
  if (slot.text === message) return slot.frame;
  slot.frame = advanced ? encodeAdvanced(message) : encodeJson(message);
  slot.text = message;
  if (!clearQueued) {
    clearQueued = true;
    queueMicrotask(clearCache);
  }
  return slot.frame;
}

module.exports = { encodeFrame, encodeJson, encodeAdvanced, encodeAdvancedPlain, decodeAdvanced };
