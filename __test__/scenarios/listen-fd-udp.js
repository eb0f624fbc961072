'use strict';
// Workers bind to descriptors of the primary's: fd 3 is a bound UDP socket, fd 4 a listening
// TCP socket (the test starts the primary so). One worker at a time: the refused cases (a
// server on the UDP socket and on a closed descriptor, dgram on the TCP socket and on a closed
// descriptor), then a dgram socket on fd 3: the primary sends it a datagram at the port its
// 'listening' event reported, and the worker answers. fd 3 comes last because Node's primary
// closes it when that worker leaves (rust-cluster leaves the primary's descriptor open).
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety } = require('../helpers/observe');

safety(15000);
const CASES = ['server fd 3', 'server fd 50', 'dgram fd 4', 'dgram fd 50', 'dgram fd 3'];

if (cluster.isPrimary) {
  let current;
  const client = dgram.createSocket('udp4');
  client.on('message', (m) => {
    obs('primary got', { m: String(m) });
    current.disconnect();
  });
  cluster.on('listening', (w, address) => {
    obs('listening', { id: w.id, address });
    client.send(`ping ${w.id}`, address.port, '127.0.0.1', (err) => obs('sent', { error: err ? err.code : null }));
  });
  const next = (i) => {
    if (i === CASES.length) {
      client.close();
      return;
    }
    const w = current = cluster.fork({ CASE: CASES[i] });
    w.on('message', (m) => {
      obs('worker says', m);
      if (m.done) w.disconnect();
    });
    w.on('exit', (code, signal) => {
      obs('exit', { id: w.id, code, signal });
      next(i + 1);
    });
  };
  next(0);
} else {
  const which = process.env.CASE;
  const failed = (err) => process.send({ which, error: err.code, syscall: err.syscall, done: true });
  if (which.startsWith('dgram')) {
    const socket = dgram.createSocket('udp4');
    socket.on('error', failed);
    socket.on('message', (m, rinfo) => {
      obs('worker got', { m: String(m) });
      socket.send(`pong from ${cluster.worker.id}`, rinfo.port, rinfo.address, () => socket.close());
    });
    socket.bind({ fd: Number(which.split(' ')[2]) }, () => {
      const a = socket.address();
      process.send({ which, bound: { family: a.family, address: a.address, port: a.port } });
    });
  } else {
    const server = net.createServer();
    server.on('error', failed);
    server.listen({ fd: Number(which.split(' ')[2]) }, () => process.send({ which, listening: true, done: true }));
  }
}
