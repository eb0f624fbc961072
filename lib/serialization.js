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

function encodeJson(message) {
  return Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
}

function encodeAdvanced(message) {
  const ser = new ChannelSerializer();
  ser.writeHeader();
  ser.writeValue(message);
  const body = ser.releaseBuffer();
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

function decodeAdvanced(bytes) {
  const des = new ChannelDeserializer(bytes);
  des.readHeader();
  return des.readValue();
}

module.exports = { encodeJson, encodeAdvanced, decodeAdvanced };
