'use strict';
// Bursts of messages, in the serialization mode given as argv[2] (json | advanced).
// 1. One long string sent to three workers, then an equal-length different string, the first
//    again, and an object sent, mutated and sent again, all in one synchronous run: each worker
//    must get exactly what was sent at the time (rust-cluster reuses a string's frame).
// 2. A worker sends 300 messages in one tick; the primary answers each inside its 'message'
//    listener (rust-cluster writes the answers a batch provokes together), one of them with a
//    send callback, and disconnects the worker after the last answer: the worker must get all
//    300 answers, in order, before the disconnect.
// 3. The same with a handle: an answer in the middle carries a server, and answers after it wait
//    behind it.
const net = require('node:net');
const { cluster, obs, short, safety } = require('../helpers/observe');

safety(8000);
const N = 300;

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: process.argv[2] || 'json' });
  const workers = [cluster.fork(), cluster.fork(), cluster.fork()];
  let ready = 0;
  const whenReady = (w) => w.once('message', (m) => { if (m === 'ready' && ++ready === 3) phase1(); });
  workers.forEach(whenReady);
  cluster.on('exit', (w, code, signal) => obs('exit', { lane: `w${w.id}`, id: w.id, code, signal, ead: w.exitedAfterDisconnect }));

  let reported = 0;
  function phase1() {
    const s1 = 'a'.repeat(4096);
    const s2 = `${s1.slice(0, -1)}b`;
    const obj = { k: s1 };
    for (const w of workers) w.send(s1);
    for (const w of workers) w.send(s2);
    for (const w of workers) w.send(s1);
    for (const w of workers) w.send(obj);
    obj.k = s2;
    for (const w of workers) w.send(obj);
    for (const w of workers) {
      w.once('message', (m) => {
        obs('phase1 report', { lane: `w${w.id}`, id: w.id, m });
        if (++reported === 3) phase2();
      });
    }
  }

  function answerBurst(w, withHandle, done) {
    const server = withHandle ? net.createServer() : null;
    const go = () => {
      w.on('message', (m) => {
        if (!m || typeof m.n !== 'number') return;
        if (m.n === 100) {
          w.send({ r: m.n }, (err) => obs('answer callback', { lane: `w${w.id}`, id: w.id, err: err && err.code }));
        } else if (withHandle && m.n === 150) {
          w.send({ r: m.n, handle: true }, server, () => server.close());
        } else {
          w.send({ r: m.n });
        }
        if (m.n === N - 1) {
          w.disconnect();
          done();
        }
      });
      w.send('burst');
    };
    if (server) server.listen(0, '127.0.0.1', go);
    else go();
  }

  function phase2() {
    answerBurst(workers[0], false, () => answerBurst(workers[1], true, () => {
      for (const w of workers.slice(2)) w.disconnect();
    }));
  }
} else {
  const got = [];
  let answers = 0;
  let inOrder = true;
  let handles = 0;
  process.on('message', (m, handle) => {
    if (m === 'burst') {
      for (let n = 0; n < N; n++) process.send({ n });
      return;
    }
    if (m && typeof m.r === 'number') {
      if (m.r !== answers) inOrder = false;
      answers++;
      if (handle) {
        handles++;
        handle.close();
      }
      return;
    }
    got.push(short(m));
    if (got.length === 5) process.send(got);
  });
  process.on('disconnect', () => obs('worker disconnect', { answers, inOrder, handles }));
  process.send('ready');
}
