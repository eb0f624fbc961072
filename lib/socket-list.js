'use strict';
// Connection counting for sockets passed between processes (Node's NODE_SOCKET_* exchange, used
// by child_process and so by cluster workers' process.send(msg, socket)):
// - SocketListSend: the primary sent a socket that came from one of its servers. The server
//   then asks the worker how many of those sockets are still open (getConnections) and waits
//   for them to close (close).
// - SocketListReceive: the worker sent the primary a socket from one of its servers; the
//   primary answers the worker's questions about the sockets it holds for that server.

const EventEmitter = require('events');
const errors = require('./errors.js');

class SocketListSend extends EventEmitter {
  constructor(proc, key) {
    super();
    this.key = key;
    this.child = proc;
    proc.once('exit', () => this.emit('exit', this));
  }

  _request(msg, replyCmd, swallowErrors, callback) {
    const proc = this.child;
    const onclose = () => {
      proc.removeListener('internalMessage', onreply);
      callback(errors.makeNodeError(Error, 'ERR_CHILD_CLOSED_BEFORE_REPLY', 'Child closed before reply received'));
    };
    const onreply = (reply) => {
      if (!(reply.cmd === replyCmd && reply.key === this.key)) return;
      proc.removeListener('disconnect', onclose);
      proc.removeListener('internalMessage', onreply);
      callback(null, reply);
    };
    if (!proc.connected) return onclose();
    proc._send(msg, undefined, { swallowErrors }, undefined);
    proc.once('disconnect', onclose);
    proc.on('internalMessage', onreply);
  }

  close(callback) {
    this._request({ cmd: 'NODE_SOCKET_NOTIFY_CLOSE', key: this.key }, 'NODE_SOCKET_ALL_CLOSED', true, callback);
  }

  getConnections(callback) {
    this._request({ cmd: 'NODE_SOCKET_GET_COUNT', key: this.key }, 'NODE_SOCKET_COUNT', false, (err, msg) => {
      if (err) return callback(err);
      callback(null, msg.count);
    });
  }
}

class SocketListReceive extends EventEmitter {
  constructor(proc, key) {
    super();
    this.connections = 0;
    this.key = key;
    this.child = proc;
    const sendClose = () => {
      if (!proc.connected) return;
      proc._send({ cmd: 'NODE_SOCKET_ALL_CLOSED', key: this.key }, undefined, { swallowErrors: true }, undefined);
    };
    proc.on('internalMessage', (msg) => {
      if (msg.key !== this.key) return;
      if (msg.cmd === 'NODE_SOCKET_NOTIFY_CLOSE') {
        if (this.connections === 0) return sendClose();
        this.once('empty', sendClose);
      } else if (msg.cmd === 'NODE_SOCKET_GET_COUNT') {
        if (!proc.connected) return;
        proc._send({ cmd: 'NODE_SOCKET_COUNT', key: this.key, count: this.connections }, undefined, { swallowErrors: false }, undefined);
      }
    });
  }

  add(obj) {
    this.connections++;
    obj.socket.once('close', () => {
      this.connections--;
      if (this.connections === 0) this.emit('empty', this);
    });
  }
}

// One list per (process, direction, key), created on first use (`onCreate` is told of it).
const listsOf = new WeakMap(); // process -> { send: Map, got: Map }
function getSocketList(type, proc, key, onCreate) {
  let both = listsOf.get(proc);
  if (!both) {
    both = { send: new Map(), got: new Map() };
    listsOf.set(proc, both);
  }
  const lists = both[type];
  let list = lists.get(key);
  if (!list) {
    list = type === 'send' ? new SocketListSend(proc, key) : new SocketListReceive(proc, key);
    lists.set(key, list);
    if (onCreate) onCreate(list);
  }
  return list;
}

module.exports = { getSocketList };
