'use strict';
// An ACK while a large message is half written (docs/PROTOCOL.md §3.4). The
// worker stops reading its channel (a busy loop); the primary then sends it
// a 4 MiB message, which the full socket takes only in part. During the
// loop the worker sends the primary a handle, which the primary acks at
// once. The ACK may go ahead of messages waiting to be written, never into
// the middle of one: the worker must read the large message whole, and its
// own handle message must complete.
//   node handle/ack-mid-message.js [json|advanced]
const dgram = require('node:dgram');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { modeFromArgv, describeHandle, watchExit, Inbox } = require('./common');

safety(15000);
const mode = modeFromArgv();
const SIZE = 4 << 20;

function busy(ms) {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: mode });
  const w = cluster.fork();
  const finish = watchExit(w, obs);
  const inbox = new Inbox();
  w.on('message', (msg, handle) => inbox.push({ msg, handle }));
  const fromWorker = (ev) => inbox.take((m) => m.msg && m.msg.ev === ev);
  (async () => {
    await fromWorker('ready');
    w.send({ cmd: 'block' });
    await fromWorker('blocked');
    const ret = w.send({ cmd: 'big', text: 'x'.repeat(SIZE) });
    obs('primary sent the large message', { ret });
    const { handle } = await fromWorker('handle');
    obs('primary got the handle', { handle: describeHandle(handle) });
    handle.close();
    const { msg } = await fromWorker('read big');
    obs('worker read the large message', { length: msg.length, intact: msg.intact });
    finish();
    w.disconnect();
  })();
} else {
  const sock = dgram.createSocket('udp4');
  process.on('message', (msg) => {
    if (msg.cmd === 'block') {
      process.send({ ev: 'blocked' });
      busy(300);
      process.send({ ev: 'handle' }, sock, (err) => {
        obs('worker handle send callback', { err: errInfo(err) });
        sock.close();
      });
      busy(500);
    } else if (msg.cmd === 'big') {
      const intact = /^x*$/.test(msg.text);
      process.send({ ev: 'read big', length: msg.text.length, intact });
    }
  });
  sock.bind({ port: 0, address: '127.0.0.1', exclusive: true }, () => process.send({ ev: 'ready' }));
}
