'use strict';
// The handle-passing programs of the seed documents, made deterministic:
//   part 'socket': setupMaster({ exec }) and one worker; the primary's
//     net.Server hands every other connection to the worker with
//     worker.send('socket', socket) (no pauseOnConnect) and ends the others
//     itself; the worker ends the socket with its answer and tells the
//     primary with process.send().
//   part 'server': two workers each get the listening server with
//     worker.send('server', server) and answer on it; the primary answers
//     too. Which process answers a connection is up to the kernel.
//   node handle/seed.js [socket|server]
const net = require('node:net');
const { cluster, obs, safety } = require('../../helpers/observe');

safety(10000);
const part = process.argv[2] || 'socket';

if (cluster.isPrimary) {
  cluster.setupMaster({ exec: __filename, args: [part] });
  const request = (port) => new Promise((resolve) => {
    let body = '';
    net.connect(port, 'localhost').setEncoding('utf8')
      .on('data', (d) => { body += d; }).on('end', () => resolve(body)).on('error', (err) => resolve(`error ${err.code}`));
  });

  if (part === 'socket') {
    const worker = cluster.fork();
    const fromWorker = [];
    worker.on('message', (m, socket) => fromWorker.push({ m, socket: socket === undefined ? 'undefined' : typeof socket }));
    let n = 0;
    const server = net.createServer();
    server.on('connection', (socket) => {
      if (n++ % 2 === 0) obs('send', { ret: worker.send('socket', socket) });
      else socket.end('handled in the primary');
    });
    worker.once('online', () => {
      server.listen(0, 'localhost', async () => {
        const answers = [];
        for (let i = 0; i < 6; i++) answers.push(await request(server.address().port));
        obs('answers', { answers });
        while (fromWorker.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
        obs('worker told the primary', { fromWorker });
        server.close();
        worker.disconnect();
      });
    });
    worker.on('exit', (code, signal) => obs('exit', { code, signal }));
  } else {
    const workers = [cluster.fork(), cluster.fork()];
    const server = net.createServer((socket) => socket.end('handled in the primary'));
    let ready = 0;
    for (const w of workers) {
      w.on('message', async (m) => {
        if (m !== 'ready' || ++ready < 2) return;
        const answers = [];
        for (let i = 0; i < 8; i++) answers.push(await request(server.address().port));
        obs('answers', {
          count: answers.length,
          valid: answers.every((a) => a === 'handled in the primary' || /^handled in worker [12]$/.test(a)),
        });
        server.close();
        for (const x of workers) x.send('close');
      });
      w.on('message', (m) => { if (m === 'closed') w.disconnect(); });
      w.on('exit', (code, signal) => obs('exit', { lane: `w${w.id}`, code, signal }));
    }
    server.listen(0, 'localhost', () => workers.forEach((w) => obs('send', { lane: `w${w.id}`, ret: w.send('server', server) })));
  }
} else if (part === 'socket') {
  process.on('message', (msg, socket) => {
    if (msg === 'socket') {
      socket.end(`handled in worker ${cluster.worker.id}: ${msg}`);
      process.send('worker handled a connection');
    }
  });
} else {
  let server;
  process.on('message', (msg, handle) => {
    if (msg === 'server') {
      server = handle;
      server.on('connection', (socket) => socket.end(`handled in worker ${cluster.worker.id}`));
      process.send('ready');
    } else if (msg === 'close') {
      server.close(() => process.send('closed'));
    }
  });
}
