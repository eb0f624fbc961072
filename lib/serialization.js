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
    return advanced ? encodeAdvanced(message) : encodeJson(message);
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

module.exports = { encodeFrame, encodeJson, encodeAdvanced, decodeAdvanced };
