'use strict';
// listen()/bind() variants and errors in one worker (docs/PROTOCOL.md §4.3-4.9,
// §7.4, §7.6).
//   argv: <policy> <heldPort>
//   policy:   rr | none | reuseport | env (as in server/share.js)
//   heldPort: a TCP port that another process (the test) keeps listening on
// The worker runs the steps one after another and keeps every server open,
// so later steps see the earlier ones. For each step it records the outcome
// (address, or the error's code/errno/syscall/address/port/message), whether
// the worker itself holds the socket, which loopback families connect, and
// for TCP the backlog the listening socket really got. The primary records
// every 'listening' event (worker and cluster) with its arguments.
const dgram = require('node:dgram');
const net = require('node:net');
const { cluster, obs, safety } = require('../../helpers/observe');
const { applyPolicy, byPolicy, holds, listenBacklog, probeConnect, errFields } = require('./common');
const { freePorts } = require('../../helpers/ports');

const [policy = 'rr', heldArg] = process.argv.slice(2);
safety(20000);

if (cluster.isPrimary) {
  obs('policy', { schedulingPolicy: applyPolicy(cluster, policy) });
  cluster.on('listening', (w, addr) => obs('C.listening', { id: w.id, state: w.state, addr }));
  cluster.on('exit', (w, code, signal) => obs('C.exit', { code, signal, ead: w.exitedAfterDisconnect }));
  freePorts(3).then(([free, freeUdp, freeUdp2]) => {
    const w = cluster.fork({
      RC_FREE_PORT: free, RC_FREE_UDP_PORT: freeUdp, RC_FREE_UDP_PORT2: freeUdp2, RC_HELD_PORT: heldArg,
    });
    w.on('listening', (addr) => obs('W.listening', { state: w.state, addr }));
    w.on('disconnect', () => obs('W.disconnect', { state: w.state }));
    w.on('message', (m) => {
      if (m === 'done') w.disconnect();
    });
  });
} else {
  const free = Number(process.env.RC_FREE_PORT);
  const freeUdp = Number(process.env.RC_FREE_UDP_PORT);
  const freeUdp2 = Number(process.env.RC_FREE_UDP_PORT2);
  const held = Number(process.env.RC_HELD_PORT);
  const ports = {}; // step name -> port it got
  // Servers that bypass the primary (exclusive) are not closed by the
  // worker's disconnect: close them before asking for it.
  const exclusive = [];
  // What this worker's TCP servers answer (with the step's name), so a probe knows which server
  // it reached.
  const probeToken = `rc-probe-${process.pid}`;

  // Start one TCP listen; resolve with what happened.
  function tcp(name, args, { families = true, backlog = false } = {}) {
    return new Promise((resolve) => {
      // Per server: an earlier step's server of this worker may hold the same port number on
      // another address (the kernel hands out a port again for a disjoint address).
      const token = `${probeToken}:${name}`;
      const server = net.createServer((s) => s.end(token));
      if (args[0] && args[0].exclusive) exclusive.push(server);
      let threw;
      server.once('error', (err) => resolve({ name, error: errFields(err, args[0] && (args[0].port || args[0])) }));
      server.once('listening', async () => {
        const addr = server.address();
        ports[name] = addr.port;
        const out = { name, addr, holds: /exclusive/.test(name) ? holds('tcp', addr.port, 'self', addr.address) : byPolicy(policy, holds('tcp', addr.port, 'self', addr.address)) };
        if (families) out.connect = { v4: await probeConnect(addr.port, '127.0.0.1', token), v6: await probeConnect(addr.port, '::1', token) };
        if (backlog) out.backlog = listenBacklog(addr.port, addr.address);
        resolve(out);
      });
      try { server.listen(...args); } catch (err) { threw = { code: err.code, name: err.name }; }
      if (threw) resolve({ name, threw });
    });
  }

  function udp(name, type, args) {
    return new Promise((resolve) => {
      const sock = dgram.createSocket(type);
      if (args[0] && args[0].exclusive) exclusive.push(sock);
      sock.once('error', (err) => resolve({ name, error: errFields(err, typeof args[0] === 'number' ? args[0] : args[0] && args[0].port) }));
      sock.once('listening', () => {
        const addr = sock.address();
        ports[name] = addr.port;
        resolve({ name, addr, holds: holds('udp', addr.port, 'self', addr.address) });
      });
      try { sock.bind(...args); } catch (err) { resolve({ name, threw: { code: err.code, name: err.name } }); }
    });
  }

  const steps = [
    // port 0, no host: dual stack on '::'
    () => tcp('listen(0)', [0], { backlog: true }),
    () => tcp('listen(0) again in the same worker', [0]).then((r) => ({ ...r, differentPort: ports['listen(0)'] !== ports['listen(0) again in the same worker'] })),
    () => tcp('listen(0, undefined, cb) form', [0, undefined, () => {}], { families: false }),
    () => tcp('listen(P)', [free], { families: false }),
    () => tcp('listen(P) again in the same worker', [free], { families: false }),
    () => tcp('listen(port held by another process)', [held], { families: false }),
    () => tcp('listen(port held by another process) retried', [held], { families: false }),
    () => tcp('listen(0, 192.0.2.1)', [0, '192.0.2.1'], { families: false }),
    () => tcp('listen(0, 127.0.0.1)', [0, '127.0.0.1']),
    () => tcp('listen(0, ::1)', [0, '::1']),
    () => tcp('listen(0, ::)', [0, '::']),
    () => tcp('listen({port:0, host:"::", ipv6Only:true})', [{ port: 0, host: '::', ipv6Only: true }]),
    () => tcp('listen({port:0, ipv6Only:true}) without a host', [{ port: 0, ipv6Only: true }]),
    () => tcp('listen({port:0, host:"localhost", backlog:100})', [{ port: 0, host: 'localhost', backlog: 100 }], { backlog: true }),
    () => tcp('listen({port:0, backlog:7})', [{ port: 0, backlog: 7 }], { families: false, backlog: true }),
    () => tcp('listen({port:0, exclusive:true})', [{ port: 0, exclusive: true }], { backlog: true }),
    () => tcp('listen(70000)', [70000], { families: false }),
    () => udp('udp4 bind(0)', 'udp4', [0]),
    () => udp('udp4 bind(0) again in the same worker', 'udp4', [0]).then((r) => ({ ...r, differentPort: ports['udp4 bind(0)'] !== ports['udp4 bind(0) again in the same worker'] })),
    () => udp('udp4 bind(P)', 'udp4', [freeUdp]),
    () => udp('udp4 bind(P) again in the same worker', 'udp4', [freeUdp]),
    () => udp('udp4 bind({port:Q, reuseAddr:true})', 'udp4', [{ port: freeUdp2, reuseAddr: true }]),
    () => udp('udp4 bind({port:Q, reuseAddr:true}) again in the same worker', 'udp4', [{ port: freeUdp2, reuseAddr: true }]),
    () => udp('udp6 bind(0, ::1)', 'udp6', [0, '::1']),
    () => udp('udp4 bind(0, 192.0.2.1)', 'udp4', [0, '192.0.2.1']),
    () => udp('udp4 bind({port:0, exclusive:true})', 'udp4', [{ port: 0, exclusive: true }]),
  ];

  (async () => {
    for (const step of steps) obs('step', await step());
    await Promise.all(exclusive.map((s) => new Promise((r) => s.close(r))));
    process.send('done');
  })();
}
