'use strict';
// N workers share one server; real clients on loopback (docs/PROTOCOL.md §4.4-4.8).
//   argv: <proto> <workers> <policy>
//   proto:  http | tcp | tls | udp | udp6 | pipe-abs | pipe-rel | pipe-long | pipe-r | pipe-w | pipe-rw
//           (pipe-r/-w/-rw: absolute path with readableAll/writableAll;
//           pipe-long: relative path whose absolute form exceeds sun_path)
//   policy: rr (default) | none | reuseport (cluster.schedulingPolicy before
//           the first fork) | env (whatever NODE_CLUSTER_SCHED_POLICY says);
//           see common.js applyPolicy
// The primary waits for every worker to listen, checks that they share one
// port, makes sequential requests (every worker answers some of them under
// round robin), adds up what the workers counted, then closes the servers
// one by one (the remaining workers keep answering; after the last one the
// address refuses and a unix socket file is gone), then disconnects.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { cluster, obs } = require('../../helpers/observe');
const { applyPolicy, byPolicy, guard, holds, makeServer, request, errFields, listenBacklog } = require('./common');

const [protoArg, nArg, policy = 'rr'] = process.argv.slice(2);
const n = Number(nArg);
const isPipe = protoArg.startsWith('pipe');
const proto = isPipe ? 'pipe' : protoArg;
const isUdp = proto === 'udp' || proto === 'udp6';
const kind = isPipe ? 'unix' : isUdp ? 'udp' : 'tcp';
const progress = { step: 'start' };
guard(20000, progress);

if (cluster.isPrimary) {
  const policyName = applyPolicy(cluster, policy);
  process.umask(0o077); // so that readableAll and writableAll show in the socket file's mode
  obs('policy', { schedulingPolicy: policyName });
  const rr = policy !== 'reuseport' && cluster.schedulingPolicy === cluster.SCHED_RR;

  const env = {};
  let sockAbs;
  if (isPipe) {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-srv-'));
    // pipe-long: an absolute path longer than sun_path (108 bytes), usable
    // only through its cwd-relative form (docs/PROTOCOL.md §4.5).
    const dir = protoArg === 'pipe-long' ? path.join(top, 'd'.repeat(60), 'e'.repeat(60)) : top;
    fs.mkdirSync(dir, { recursive: true });
    sockAbs = path.join(dir, 'srv.sock');
    if (protoArg === 'pipe-rel' || protoArg === 'pipe-long') {
      process.chdir(dir); // the workers inherit it
      env.RC_SOCK = 'srv.sock';
    } else {
      env.RC_SOCK = sockAbs;
    }
    process.on('exit', () => fs.rmSync(top, { recursive: true, force: true }));
  }

  const workers = [];
  const waiting = new Map(); // id -> resolver for the next message
  const nextMsg = (w) => new Promise((resolve) => waiting.set(w.id, resolve));
  cluster.on('listening', (w, addr) => obs('C.listening', { lane: `w${w.id}`, same: workers.includes(w), state: w.state, addr }));
  cluster.on('exit', (w, code, signal) => obs('C.exit', { lane: `w${w.id}`, code, signal, ead: w.exitedAfterDisconnect }));
  const ready = [];
  for (let i = 0; i < n; i++) {
    const w = cluster.fork(env);
    workers.push(w);
    w.on('listening', (addr) => obs('W.listening', { lane: `w${w.id}`, state: w.state, addr }));
    w.on('message', (msg) => {
      const r = waiting.get(w.id);
      waiting.delete(w.id);
      if (r) r(msg);
    });
    ready.push(nextMsg(w));
  }

  // Clients use the absolute path, or the relative one when it is too long.
  const to = (port) => (isPipe ? (protoArg === 'pipe-long' ? env.RC_SOCK : sockAbs) : port);
  const ids = (answers) => [...new Set(answers.map((a) => (typeof a === 'string' ? a.split(':')[0] : 'ERR')))].sort();

  (async () => {
    progress.step = 'waiting for the workers';
    const readies = await Promise.all(ready);
    const ports = [...new Set(readies.map((m) => m.port))];
    obs('shared', { distinctPorts: ports.length, allReady: readies.every((m) => m.ready === true) });
    const port = ports[0];
    obs('primary holds the socket', { holds: holds(kind, isPipe ? sockAbs : port, 'self', readies[0].address) });
    if (kind === 'tcp') obs('backlog', { backlog: listenBacklog(port, readies[0].address) });
    if (isPipe) obs('socket file', { mode: (fs.statSync(sockAbs).mode & 0o777).toString(8), isSocket: fs.statSync(sockAbs).isSocket() });
    if (proto === 'tls') obs('ticket keys', { allSame: new Set(readies.map((m) => m.ticketKeys)).size === 1 });

    // Sequential requests.
    const total = 4 * n + 2;
    const answers = [];
    let session;
    let reused = 0;
    for (let i = 0; i < total; i++) {
      const tlsOut = {};
      progress.step = `request ${i}`;
      const a = await request(proto, to(port), { host: proto === 'udp6' ? '::1' : '127.0.0.1', payload: `r${i}`, session, tlsOut, timeoutMs: 5000 });
      progress[`r${i}`] = a;
      if (tlsOut.reused) reused++;
      if (!session) session = tlsOut.session;
      answers.push(a);
    }
    const good = answers.filter((a, i) => typeof a === 'string' && a.endsWith(`:r${i}`));
    obs('requests', {
      total, answered: good.length, failures: answers.filter((a) => typeof a !== 'string'),
      // Round robin gives every worker some; the kernel (SCHED_NONE, UDP) may not.
      everyWorkerAnswered: rr && !isUdp ? ids(good).length === n : '<not compared>',
    });
    if (proto === 'tls') obs('tls session', { resumedAfterFirst: reused, of: total - 1 });

    progress.step = 'counts';
    for (const w of workers) w.send({ cmd: 'count' });
    const counts = await Promise.all(workers.map(nextMsg));
    obs('served', { sum: counts.reduce((s, m) => s + m.count, 0), everyWorkerCounted: rr && !isUdp ? counts.every((m) => m.count > 0) : '<not compared>' });

    // Close the servers one by one; the others keep answering.
    for (let i = 0; i < n; i++) {
      const w = workers[i];
      progress.step = `closing W${w.id}`;
      w.send({ cmd: 'close' });
      const m = await nextMsg(w);
      obs('closed', { id: w.id, msg: m, state: w.state, connected: w.isConnected() });
      if (i < n - 1) {
        const after = [];
        for (let k = 0; k < 3; k++) after.push(await request(proto, to(port), { host: proto === 'udp6' ? '::1' : '127.0.0.1', payload: `c${i}.${k}`, timeoutMs: 5000 }));
        const closedIds = workers.slice(0, i + 1).map((x) => `W${x.id}`);
        obs('after close', {
          id: w.id,
          answered: after.filter((a) => typeof a === 'string').length,
          failures: after.filter((a) => typeof a !== 'string'),
          fromClosed: after.filter((a) => typeof a === 'string' && closedIds.includes(a.split(':')[0])).length,
        });
      }
    }
    // Nobody serves any more.
    if (isPipe) obs('socket file after the last close', { exists: fs.existsSync(sockAbs) });
    progress.step = 'last request';
    const last = await request(proto, to(port), { host: proto === 'udp6' ? '::1' : '127.0.0.1', timeoutMs: isUdp ? 300 : 5000 });
    obs('request after the last close', { result: last });

    progress.step = 'disconnect';
    cluster.disconnect(() => obs('disconnect callback'));
  })().catch((err) => {
    obs('primary failed', { err: errFields(err), stack: err.stack });
    process.exit(1);
  });
} else {
  const who = `W${cluster.worker.id}`;
  let count = 0;
  const server = makeServer(proto, who, () => { count++; });
  server.on('error', (err) => {
    obs('server error', errFields(err));
    process.send({ error: err.code });
  });
  const onListening = () => {
    const addr = server.address();
    const port = isPipe ? undefined : addr.port;
    obs('listening', { addr, holds: byPolicy(policy, holds(kind, isPipe ? path.resolve(process.env.RC_SOCK) : port, 'self', isPipe ? undefined : addr.address)) });
    const msg = { ready: true, port, address: isPipe ? undefined : addr.address };
    if (proto === 'tls') msg.ticketKeys = crypto.createHash('sha256').update(server.getTicketKeys()).digest('hex');
    process.send(msg);
  };
  if (isUdp) {
    server.bind(0, proto === 'udp6' ? '::1' : undefined, onListening);
  } else if (isPipe) {
    const opts = { path: process.env.RC_SOCK };
    if (protoArg === 'pipe-r' || protoArg === 'pipe-rw') opts.readableAll = true;
    if (protoArg === 'pipe-w' || protoArg === 'pipe-rw') opts.writableAll = true;
    server.listen(opts, onListening);
  } else {
    server.listen(0, onListening);
  }
  process.on('message', (m) => {
    if (m.cmd === 'count') process.send({ count });
    if (m.cmd === 'close') {
      server.close(() => {
        obs('server closed');
        process.send({ closed: true });
      });
    }
  });
}
