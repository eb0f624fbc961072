'use strict';
// send() argument errors (in the primary and in the worker), and sending
// right after disconnect(), after 'disconnect' and after 'exit'.
const { cluster, obs, safety, snap, attempt, errInfo } = require('../helpers/observe');

safety();

function circular() {
  const o = { a: 1 };
  o.self = o;
  return o;
}

// Each entry: a label and a call that must throw synchronously.
const BAD_SENDS = [
  ['send()', (send) => send()],
  ['send(undefined)', (send) => send(undefined)],
  ['send(Symbol())', (send) => send(Symbol('s'))],
  ['send(function)', (send) => send(() => {})],
  ['send(1n)', (send) => send(1n)],
  ['send({big: 1n})', (send) => send({ big: 1n })],
  ['send(circular)', (send) => send(circular())],
  ["send('x', null, 'options')", (send) => send('x', null, 'options')],
];

if (cluster.isPrimary) {
  const w = cluster.fork();
  const send = (...args) => w.send(...args);
  w.on('error', (err) => obs('W.error', { err: errInfo(err), ...snap(w) }));
  w.process.on('error', (err) => obs('P.error', { err: errInfo(err) }));

  // Send with a callback; record return value, and the callback's error
  // and whether it came synchronously. With `raceable`, the worker may
  // already have closed the channel when the bytes are written (Node then
  // passes EPIPE, seen in about half the runs), so null and a write error
  // are both accepted.
  function sendAndRecord(label, msg, raceable = false) {
    let sync = true;
    const ret = w.send(msg, (err) => {
      const writeErr = err && ['EPIPE', 'ECONNRESET'].includes(err.code);
      obs('callback', { label, err: raceable && writeErr ? null : errInfo(err), sync });
    });
    sync = false;
    obs('send', { label, ret });
  }

  w.once('message', (msg) => {
    obs('worker ready', { msg });
    for (const [label, call] of BAD_SENDS) obs('bad send', { label, ...attempt(() => call(send)) });
    sendAndRecord('still usable', 'ping');
  });
  w.on('message', (msg) => {
    if (msg !== 'pong') return;
    obs('pong');
    w.disconnect();
    obs('after disconnect()', snap(w));
    // The primary does not close the channel itself, so this still goes out.
    sendAndRecord('right after disconnect()', 'late-1', true);
  });
  w.on('disconnect', () => {
    obs('W.disconnect', snap(w));
    sendAndRecord('in disconnect handler', 'late-2');
    obs('send without callback', { ret: w.send('late-3') }); // -> 'error' event
  });
  w.on('exit', (code, signal) => {
    obs('W.exit', { code, signal, ...snap(w) });
    sendAndRecord('in exit handler', 'late-4');
  });
} else {
  const send = (...args) => cluster.worker.send(...args);
  for (const [label, call] of BAD_SENDS) obs('bad send', { label, ...attempt(() => call(send)) });
  process.on('message', (msg) => {
    // 'late-1' may arrive together with the disconnect request: answering it
    // would then race with the closing channel, so only 'ping' is answered.
    if (msg === 'ping') process.send('pong');
  });
  process.send('ready');
}
