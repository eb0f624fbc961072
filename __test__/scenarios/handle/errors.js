'use strict';
// worker.send(message, handle) with values that are not handles, with
// handles that have no descriptor (left), and with a raw native handle.
// Throws are recorded with name, code and message; sends that go out are
// recorded with return value, callback and what the worker got.
//   node handle/errors.js [json|advanced] [invalid|falsy|empty|nofd|native]
//     invalid: truthy non-handles (ERR_INVALID_HANDLE_TYPE), also with
//              options and while queued behind a real handle;
//     falsy:   0, '', false, null, NaN as the handle (Node: no handle);
//     empty:   handles without a descriptor (no envelope), then a send with
//              a bad handle after disconnect;
//     nofd:    handles whose descriptor is not there yet (a dgram socket still binding, a
//              socket still connecting): EBADF, and the channel goes on;
//     native:  a raw TCP handle (Node sends it as net.Native).
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { modeFromArgv, kind, watchExit, Inbox } = require('./common');

safety(10000);
const mode = modeFromArgv();
const part = process.argv[3] || 'invalid';

function thrown(fn) {
  try {
    return { ret: fn() };
  } catch (err) {
    return { threw: err.name, code: err.code, message: err.message };
  }
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: mode });
  const w = cluster.fork();
  const finish = watchExit(w, obs);
  const inbox = new Inbox();
  w.on('message', (msg) => inbox.push(msg));
  const fromWorker = () => inbox.take();

  // Sends and waits for the worker's report of what it got.
  async function sendAndSee(label, handle, ...rest) {
    let cb;
    const cbDone = new Promise((resolve) => { cb = (err) => resolve(errInfo(err)); });
    const r = thrown(() => w.send({ label }, handle, ...rest, cb));
    obs('send', { label, ...r });
    if (r.threw) return;
    obs('callback', { label, err: await cbDone });
    const got = await fromWorker();
    obs('worker got', got);
  }

  (async () => {
    await fromWorker(); // ready
    const server = net.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    if (part === 'invalid') {
      // Not handles: Node throws for every truthy one.
      const BAD = [
        ['{}', {}], ['[]', []], ['1', 1], ["'str'", 'str'], ['true', true], ['{ fd: 0 }', { fd: 0 }],
        ['Symbol', Symbol('s')], ['Buffer', Buffer.from('x')], ['Date', new Date(0)],
      ];
      for (const [label, value] of BAD) await sendAndSee(`bad handle ${label}`, value);
      // With options, and queued behind a real handle.
      await sendAndSee('bad handle {} with options', {}, { keepOpen: true });
      obs('queued behind a handle', {
        first: thrown(() => w.send({ label: 'real handle' }, server)),
        bad: thrown(() => w.send({ label: 'bad while queued' }, {})),
      });
      obs('worker got', await fromWorker());
    } else if (part === 'falsy') {
      // Node ignores a falsy handle argument.
      for (const [label, value] of [['0', 0], ["''", ''], ['false', false], ['null', null], ['NaN', NaN]]) {
        await sendAndSee(`falsy handle ${label}`, value);
      }
    } else if (part === 'empty') {
      // Handles without a descriptor: the message goes without a handle.
      const unlistened = net.createServer();
      await sendAndSee('net.Server never listened', unlistened);
      const closedServer = net.createServer();
      await new Promise((resolve) => closedServer.listen(0, '127.0.0.1', resolve));
      await new Promise((resolve) => closedServer.close(resolve));
      await sendAndSee('net.Server closed', closedServer);
      const destroyed = net.connect(server.address().port, '127.0.0.1');
      await new Promise((resolve) => destroyed.on('connect', resolve));
      destroyed.destroy();
      await sendAndSee('net.Socket destroyed', destroyed);
      const neverConnected = new net.Socket();
      await sendAndSee('net.Socket never connected', neverConnected);
      const closedDgram = dgram.createSocket('udp4');
      await new Promise((resolve) => closedDgram.bind(0, '127.0.0.1', resolve));
      await new Promise((resolve) => closedDgram.close(resolve));
      await sendAndSee('dgram.Socket closed', closedDgram);
      w.once('disconnect', () => {
        const late = thrown(() => w.send({ label: 'after disconnect' }, {}, (err) => obs('late callback', { err: errInfo(err) })));
        obs('send with a bad handle after disconnect', late);
      });
    } else if (part === 'nofd') {
      // Handles that have no descriptor yet: Node's write fails with EBADF and nothing is sent;
      // what follows still goes out (the plain message at the end).
      const failed = async (label, handle, options) => {
        let cb;
        const cbDone = new Promise((resolve) => { cb = (err) => resolve(errInfo(err)); });
        obs('send', { label, ...thrown(() => w.send({ label }, handle, options, cb)) });
        obs('callback', { label, err: await cbDone });
      };
      const binding = dgram.createSocket('udp4');
      binding.bind(0, '127.0.0.1');
      await failed('dgram.Socket still binding', binding, undefined);
      const connecting = net.connect(server.address().port, '127.0.0.1');
      connecting.on('error', () => {});
      await failed('net.Socket still connecting, keepOpen', connecting, { keepOpen: true });
      // Without a callback the error is an 'error' event of the worker's.
      const errorEvent = new Promise((resolve) => w.once('error', (err) => resolve(errInfo(err))));
      const binding2 = dgram.createSocket('udp4');
      binding2.bind(0, '127.0.0.1');
      obs('send', { label: 'no callback', ...thrown(() => w.send({ label: 'no callback' }, binding2)) });
      obs('error event', { err: await errorEvent });
      // Kept behind a handle awaiting its answer, then sent (an unbound socket, so it has no
      // descriptor then either): it fails the same way, and the message kept behind it still goes.
      const unbound = dgram.createSocket('udp4');
      const cbs = ['real handle', 'kept dgram.Socket never bound', 'kept after it'].map((label) => {
        let cb;
        const done = new Promise((resolve) => { cb = (err) => resolve({ label, err: errInfo(err) }); });
        return { label, cb, done };
      });
      obs('send', { label: cbs[0].label, ...thrown(() => w.send({ label: cbs[0].label }, server, cbs[0].cb)) });
      obs('send', { label: cbs[1].label, ...thrown(() => w.send({ label: cbs[1].label }, unbound, cbs[1].cb)) });
      obs('send', { label: cbs[2].label, ...thrown(() => w.send({ label: cbs[2].label }, cbs[2].cb)) });
      for (const c of cbs) obs('callback', await c.done);
      obs('worker got', await fromWorker());
      obs('worker got', await fromWorker());
      for (const socket of [binding, binding2, unbound]) socket.close();
      connecting.destroy();
    } else {
      // A raw native handle (what cluster itself sends as net.Native).
      await sendAndSee('raw TCP handle of a listening server', server._handle);
    }
    // The channel still works.
    await sendAndSee('plain message after all that', undefined);
    server.close();
    finish();
    w.disconnect();
  })();
} else {
  process.on('message', (msg, handle) => {
    const info = { label: msg.label, kind: kind(handle) };
    if (handle instanceof net.Server) {
      info.listening = handle.listening;
      handle.close();
    } else if (handle && typeof handle.close === 'function') {
      handle.close();
    }
    process.send(info);
  });
  process.send('ready');
}
