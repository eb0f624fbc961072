'use strict';
// Node's handle conversion, both directions, in one table by the envelope's `type`: `send` gives
// the native handle an object sends (and may add to the envelope), `postSend` keeps what must
// outlive the write, `got` turns a received descriptor into the object user code gets. Servers
// and dgram sockets are delivered once they are listening or bound.

const fs = require('fs');
const net = require('net');
const dgram = require('dgram');
const { getSocketList } = require('./socket-list.js');

const nop = () => {};

function dgramState(socket) {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  return sym ? socket[sym] : undefined;
}

function isNative(handle, names) {
  return handle !== null && typeof handle === 'object' && names.includes(handle.constructor && handle.constructor.name) &&
    typeof handle.fd === 'number';
}

// The envelope type of an object user code sends, or null for one that cannot be sent.
function handleType(handle) {
  if (handle instanceof net.Socket) return 'net.Socket';
  if (handle instanceof net.Server) return 'net.Server';
  if (isNative(handle, ['TCP', 'Pipe'])) return 'net.Native';
  if (handle instanceof dgram.Socket) return 'dgram.Socket';
  if (isNative(handle, ['UDP'])) return 'dgram.Native';
  return null;
}

// The raw TCP/Pipe handle of a descriptor, taken from a socket wrapped around it.
function rawHandle(fd) {
  const carrier = new net.Socket({ fd, readable: false, writable: false });
  const raw = carrier._handle;
  carrier._handle = null;
  return raw;
}

function gotDgram(ev, proc, deliver) {
  const socket = dgram.createSocket(ev.dgramType || 'udp4');
  socket.bind({ fd: ev.fd }, () => deliver(socket));
}

// `got(ev, proc, deliver, raw)`: `ev` is the engine's event (its `fd`, and `key`/`dgramType`
// from the envelope); `raw` the descriptor's raw handle when one was made already.
const handleConversion = {
  'net.Native': {
    send: (proc, message, handle) => handle,
    got: (ev, proc, deliver, raw) => deliver(raw || rawHandle(ev.fd)),
  },
  'net.Server': {
    send: (proc, message, server) => server._handle,
    got(ev, proc, deliver) {
      const server = new net.Server();
      server.listen({ fd: ev.fd }, () => deliver(server));
    },
  },
  'net.Socket': {
    send(proc, message, socket, options) {
      if (!socket._handle) return undefined;
      if (socket.server) {
        // The server now counts this socket through the worker (getConnections, close).
        message.key = socket.server._connectionKey;
        getSocketList('send', proc, message.key, (list) => socket.server._setupWorker(list));
        if (!options.keepOpen) socket.server._connections--;
      }
      const handle = socket._handle;
      if (!options.keepOpen) {
        handle.onread = nop;
        socket._handle = null;
        socket.setTimeout(0);
      }
      return handle;
    },
    postSend(proc, message, handle, options, callback) {
      if (handle && !options.keepOpen) {
        proc._pendingMessage = { callback, message, handle, options, retransmissions: 0 };
      }
    },
    got(ev, proc, deliver, raw) {
      const from = raw ? { handle: raw } : { fd: ev.fd };
      const socket = new net.Socket({ ...from, readable: true, writable: true });
      // A socket from one of the worker's servers: the worker's server counts it through us.
      if (ev.key !== undefined) getSocketList('got', proc, ev.key).add({ socket });
      deliver(socket);
    },
  },
  'dgram.Socket': {
    send(proc, message, socket) {
      message.dgramType = socket.type;
      const state = dgramState(socket);
      return state && state.handle;
    },
    got: gotDgram,
  },
  'dgram.Native': {
    send: (proc, message, handle) => handle,
    // A raw UDP handle cannot be made outside Node's internals: the worker gets a dgram socket.
    got: gotDgram,
  },
};

// The object a received descriptor becomes; `deliver` gets it (undefined for an unknown type,
// whose descriptor is closed).
function receive(ev, proc, deliver, raw) {
  if (ev.envelope !== undefined) {
    receiveWatched(ev, proc, deliver);
    return;
  }
  const conv = handleConversion[ev.handleType];
  if (conv === undefined) {
    fs.closeSync(ev.fd);
    deliver(undefined);
    return;
  }
  conv.got(ev, proc, deliver, raw);
}

// While 'internalMessage' is listened to, a handle's envelope is emitted there first, with the
// raw handle as in Node. A socket is then made from that raw handle; a server's raw handle is the
// one it listens on, so the envelope follows the listen (a unix-socket server would otherwise
// end up with two handles on one descriptor, as it does in Node). A raw UDP handle cannot be
// made outside Node's internals: a dgram socket's envelope comes without one.
function receiveWatched(ev, proc, deliver) {
  const envelope = JSON.parse(ev.envelope);
  const plain = { ...ev, envelope: undefined };
  if (ev.handleType === 'net.Socket' || ev.handleType === 'net.Native') {
    const raw = rawHandle(ev.fd);
    try {
      proc.emit('internalMessage', envelope, raw);
    } finally {
      // Also when a listener threw: what the worker sent after the handle waits for it.
      receive(plain, proc, deliver, raw);
    }
    return;
  }
  receive(plain, proc, (handle) => {
    try {
      proc.emit('internalMessage', envelope, handle instanceof net.Server ? handle._handle : undefined);
    } finally {
      deliver(handle);
    }
  });
}

module.exports = { handleType, handleConversion, receive };
