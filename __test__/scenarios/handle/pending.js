'use strict';
// What happens to a handle that is not yet acknowledged, and to the messages
// queued behind it, when the channel goes away:
//   part 'disconnect': send(handle), send(msg), then worker.disconnect() in
//     the same tick: the disconnect waits for the queue (the worker gets
//     the handle and the message first).
//   part 'process-disconnect': the same with worker.process.disconnect()
//     (closes the channel once the queue is flushed).
// (Killing the worker in the same tick is not deterministic under Node: the
// worker sometimes reads and acknowledges the handle before it dies.)
//   node handle/pending.js [disconnect|process-disconnect]
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');
const { kind } = require('./common');

safety(10000);
const part = process.argv[2] || 'disconnect';

if (cluster.isPrimary) {
  const w = cluster.fork();
  const server = net.createServer();
  const cb = (label) => (err) => obs('callback', { label, err: errInfo(err) });
  w.on('message', (msg) => {
    if (msg !== 'ready') {
      obs('unexpected message', { msg });
      return;
    }
    server.listen(0, '127.0.0.1', () => {
      const rets = [
        w.send({ label: 'handle' }, server, cb('handle')),
        w.send({ label: 'queued 1' }, cb('queued 1')),
        w.send({ label: 'queued 2' }, cb('queued 2')),
      ];
      if (part === 'disconnect') w.disconnect();
      else w.process.disconnect();
      obs('sent', { rets, connected: w.isConnected() });
    });
  });
  w.on('disconnect', () => obs('disconnect', { ead: w.exitedAfterDisconnect }));
  w.on('error', (err) => obs('worker error', { err: errInfo(err) }));
  w.on('exit', (code, signal) => {
    obs('exit', { code, signal });
    server.close();
  });
} else {
  process.on('message', (msg, handle) => {
    obs('worker got', { msg, kind: kind(handle) });
    if (handle) handle.close();
  });
  process.on('disconnect', () => obs('worker disconnect'));
  process.send('ready');
}
