'use strict';
// Shared pieces of the server-*.js scenarios: servers of every kind that
// answer with the id of the worker that served them, clients for them, and
// /proc probes that tell who holds which socket.
const dgram = require('node:dgram');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const tls = require('node:tls');
const { freePort } = require('../../helpers/ports');

const PROTOS = ['http', 'tcp', 'tls', 'udp', 'pipe'];

// ---------------------------------------------------------------- probes

// Inodes of sockets this process holds open.
function ownSocketInodes(pid = 'self') {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* fd closed meanwhile */ }
  }
  return inodes;
}

function procLines(table) {
  try { return fs.readFileSync(table, 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)); } catch { return []; }
}

// An IP address as /proc/net/{tcp,udp}{,6} shows it: the bytes of each 32-bit word in this
// (little-endian) machine's order, in hex.
function procAddress(address) {
  let bytes;
  if (net.isIPv4(address)) {
    bytes = address.split('.').map(Number);
  } else {
    const [head, tail = ''] = address.split('::');
    const words = (part) => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
    const h = words(head);
    const t = address.includes('::') ? words(tail) : [];
    const all = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
    bytes = all.flatMap((w) => [w >> 8, w & 0xff]);
  }
  const out = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(...bytes.slice(i, i + 4).reverse());
  return out.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}

// Inodes of sockets on `port` (and `address`, when given) in /proc/net/{tcp,udp}{,6}; tcp:
// listening only.
function portInodes(kind, port, address) {
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  const local = address === undefined ? undefined : procAddress(address) + hex;
  const out = new Set();
  for (const table of [`/proc/net/${kind}`, `/proc/net/${kind}6`]) {
    for (const f of procLines(table)) {
      const mine = local === undefined ? f[1].endsWith(hex) : f[1] === local;
      if (mine && (kind !== 'tcp' || f[3] === '0A')) out.add(f[9]);
    }
  }
  return out;
}

// Inodes of listening unix sockets bound to `path`.
// The bound name may be relative (to the binder's cwd, which is ours).
function unixInodes(abs) {
  const out = new Set();
  for (const f of procLines('/proc/net/unix')) {
    // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = listening
    if (f[7] && require('node:path').resolve(f[7]) === abs && (parseInt(f[3], 16) & 0x10000) !== 0) out.add(f[6]);
  }
  return out;
}

// Does this process hold the listening (tcp, unix) or bound (udp) socket? `address` narrows a
// port to one local address (another socket may have the same port on another address).
function holds(kind, where, pid = 'self', address = undefined) {
  const wanted = kind === 'unix' ? unixInodes(where) : portInodes(kind, where, address);
  const own = ownSocketInodes(pid);
  for (const i of wanted) if (own.has(i)) return true;
  return false;
}

// The backlog of this server's listening socket, from `ss`. Only rows whose local address is
// `address` (the server's own, from server.address()) count: another process may listen on the
// same port number on another address (say [::1] while this server has 127.0.0.1).
function listenBacklog(port, address) {
  const { execFileSync } = require('node:child_process');
  let out;
  try { out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }); } catch { return 'ss failed'; }
  // How ss prints the local address: '::' with dual stack as '*' (v6only as '[::]').
  const names = address === '::' ? ['*', '[::]'] : [net.isIPv6(address) ? `[${address}]` : address];
  const rows = out.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/))
    .filter((f) => names.includes(f[3].slice(0, f[3].lastIndexOf(':'))))
    .map((f) => Number(f[2]));
  // SCHED_REUSEPORT has one socket per worker, all with the same backlog.
  const distinct = [...new Set(rows)];
  return distinct.length === 1 ? distinct[0] : rows;
}

// The scheduling policy a scenario's <policy> argument asks for, set before the first fork:
//   rr (the default: nothing set) | none | reuseport | env (NODE_CLUSTER_SCHED_POLICY decides).
// 'reuseport' is rust-cluster's SCHED_REUSEPORT, whose oracle is Node's round-robin (the default,
// under which a program that never heard of SCHED_REUSEPORT runs): the scenario then reports as
// '<by policy>' what differs by design (who holds the listening socket), which
// __test__/reuseport.test.js checks on its own.
function applyPolicy(cluster, policy) {
  if (policy === 'none') cluster.schedulingPolicy = cluster.SCHED_NONE;
  if (policy === 'reuseport') cluster.schedulingPolicy = cluster.SCHED_REUSEPORT ?? cluster.SCHED_RR;
  return policy === 'reuseport' ? 'reuseport, or rr where there is none' : cluster.schedulingPolicy;
}

// `value`, or '<by policy>' under 'reuseport' (see applyPolicy).
function byPolicy(policy, value) {
  return policy === 'reuseport' ? '<by policy>' : value;
}

// ---------------------------------------------------------------- servers

function tlsOptions() {
  return { key: fs.readFileSync(process.env.RC_TLS_KEY), cert: fs.readFileSync(process.env.RC_TLS_CERT) };
}

// A server of kind `proto` whose every answer names `who`. onServe(kind) is
// called for every request served. Returns the server (net.Server,
// http.Server, tls.Server or dgram.Socket).
function makeServer(proto, who, onServe = () => {}) {
  const lineServer = (socket) => {
    socket.setEncoding('utf8');
    let buf = '';
    socket.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        onServe();
        socket.end(`${who}:${buf.trim()}\n`);
      }
    });
    socket.on('error', () => {});
  };
  switch (proto) {
    case 'http':
      return http.createServer((req, res) => {
        onServe();
        res.setHeader('connection', 'close');
        res.end(`${who}:${req.url.slice(1)}`);
      });
    case 'tcp':
    case 'pipe':
      return net.createServer(lineServer);
    case 'tls':
      return tls.createServer(tlsOptions(), lineServer);
    case 'udp':
    case 'udp6': {
      const sock = dgram.createSocket(proto === 'udp' ? 'udp4' : 'udp6');
      sock.on('message', (msg, rinfo) => {
        onServe();
        sock.send(`${who}:${msg}`, rinfo.port, rinfo.address);
      });
      return sock;
    }
    default:
      throw new Error(`unknown proto ${proto}`);
  }
}

// ---------------------------------------------------------------- clients

// One request; resolves with the answer text or { err: code }. Never rejects.
// `to` is a port, or a path for pipes; host defaults to 127.0.0.1.
// TLS: `session` resumes a session; `tlsOut` receives { reused, session }.
function request(proto, to, { host = '127.0.0.1', payload = 'ping', timeoutMs = 2000, session, tlsOut } = {}) {
  return new Promise((resolve) => {
    let done = false;
    let sock;
    const finish = (v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (sock && sock.destroy) sock.destroy();
      if (sock && sock.close && proto.startsWith('udp')) try { sock.close(); } catch { /* closed */ }
      resolve(v);
    };
    const timer = setTimeout(() => finish({ err: 'TIMEOUT' }), timeoutMs);
    const onErr = (err) => finish({ err: err.code || err.message });
    if (proto === 'http') {
      const req = http.get({ host, port: to, path: '/' + payload, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => finish(body)).on('error', onErr);
      });
      req.on('error', onErr);
      sock = req;
      return;
    }
    if (proto === 'udp' || proto === 'udp6') {
      sock = dgram.createSocket(proto === 'udp' ? 'udp4' : 'udp6');
      sock.on('error', onErr);
      sock.on('message', (m) => finish(m.toString()));
      sock.send(payload, to, host);
      return;
    }
    let result = '';
    const onConnect = () => sock.write(payload + '\n');
    if (proto === 'tls') {
      sock = tls.connect({ host, port: to, rejectUnauthorized: false, servername: 'localhost', session, maxVersion: 'TLSv1.2' }, onConnect);
    } else if (proto === 'pipe') {
      sock = net.connect(to, onConnect);
    } else {
      sock = net.connect({ host, port: to }, onConnect);
    }
    sock.setEncoding('utf8');
    sock.on('data', (d) => { result += d; });
    sock.on('end', () => {
      if (proto === 'tls' && tlsOut) Object.assign(tlsOut, { reused: sock.isSessionReused(), session: sock.getSession() });
      finish(result.trim());
    });
    sock.on('error', onErr);
  });
}

// Connect (TCP) and report 'ok' or the error code, then close.
// Whether a connection to host:port reaches the server that answers with `token` (and ends): a
// connection that a different listener answers (another process, or another server of this one,
// can hold the same port number on another address, e.g. [::1] while this one has 127.0.0.1)
// means this server does not listen there, which is what a refused connection says.
function probeConnect(port, host, token) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => { s.destroy(); resolve('TIMEOUT'); }, 2000);
    let got = '';
    s.on('data', (d) => { got += d; });
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got === token ? 'ok' : 'ECONNREFUSED');
    });
    s.on('error', (err) => { clearTimeout(timer); resolve(err.code); });
  });
}

// The fields of a server error that are compared.
function errFields(err, port) {
  if (!err) return err;
  const out = { code: err.code, errno: err.errno, syscall: err.syscall, address: err.address, port: err.port };
  out.message = String(err.message);
  if (port) out.message = out.message.split(String(port)).join('<port>');
  return out;
}

// Like observe.safety(), but also says how far the scenario got.
function guard(ms, progress) {
  setTimeout(() => {
    require('../../helpers/observe').obs('safety-timeout', { progress });
    process.exit(99);
  }, ms).unref();
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// A TCP port that was free a moment ago (bound and released by this process).
// Wait until `pred()` is true, polling; bounded by `ms`.
async function until(pred, ms = 2000, step = 10) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(step);
  }
  return pred();
}

module.exports = {
  PROTOS, applyPolicy, byPolicy, guard, holds, listenBacklog, makeServer, request, probeConnect, errFields, sleep,
  freePort, until,
  ownSocketInodes,
};
