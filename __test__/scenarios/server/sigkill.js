'use strict';
// Two HTTP workers under round robin; W1 is killed with SIGKILL while
// connections are being handed to it. The client (in the primary, whose JS
// thread stays free) keeps CONCURRENCY requests going before and after the
// kill and records every failure with its local port. W1 writes the remote
// port of every connection it is about to accept to a file, synchronously,
// just before its {accepted:true} reply goes out (docs/PROTOCOL.md §4.8), so a
// failure is excused only when W1 had accepted (or was in the act of
// accepting) that connection.
//   argv: blocked | busy
//   blocked: W1 first stops reading its channel (busy loop), so the
//            connections handed to it stay in flight until it is killed;
//   busy:    W1 serves normally and is killed in the middle of the load.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { cluster, obs, safety } = require('../../helpers/observe');
const { makeServer, sleep } = require('./common');

const mode = process.argv[2] || 'blocked';
const CONCURRENCY = 6;
const LOAD_BEFORE_KILL_MS = 400;
const LOAD_AFTER_KILL_MS = 1200;
const REQUEST_TIMEOUT_MS = 1500;
safety(15000);

if (cluster.isPrimary) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-kill-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const logFile = path.join(dir, 'w1-accepted');
  const w1 = cluster.fork({ RC_ACCEPT_LOG: logFile });
  cluster.fork();
  const exits = [];
  cluster.on('exit', (w, code, signal) => exits.push({ id: w.id, code, signal }));
  let listening = 0;
  let port;
  cluster.on('listening', (w, addr) => {
    port = addr.port;
    if (++listening === 2) {
      if (mode === 'blocked') w1.send('block');
      else load();
    }
  });
  w1.on('message', (m) => { if (m === 'blocking') load(); });

  function get() {
    return new Promise((resolve) => {
      let localPort;
      let done = false;
      const finish = (r) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.destroy();
        resolve({ ...r, localPort });
      };
      const req = http.get({ host: '127.0.0.1', port, path: '/k', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => { body += d; });
        res.on('end', () => finish({ ok: true, who: body.split(':')[0] }));
        res.on('error', (e) => finish({ ok: false, err: e.code }));
      });
      req.on('socket', (s) => s.on('connect', () => { localPort = s.localPort; }));
      req.on('error', (e) => finish({ ok: false, err: e.code || e.message }));
      const timer = setTimeout(() => finish({ ok: false, err: 'TIMEOUT' }), REQUEST_TIMEOUT_MS);
    });
  }

  async function load() {
    const t0 = Date.now();
    const results = [];
    let killedAt = null;
    const lane = async () => {
      while (Date.now() - t0 < LOAD_BEFORE_KILL_MS + LOAD_AFTER_KILL_MS && results.length < 20000) {
        const startedAfterKill = killedAt !== null;
        results.push({ ...(await get()), startedAfterKill });
      }
    };
    const lanes = Array.from({ length: CONCURRENCY }, lane);
    await sleep(LOAD_BEFORE_KILL_MS);
    process.kill(w1.process.pid, 'SIGKILL');
    killedAt = Date.now();
    await Promise.all(lanes);
    await sleep(100);

    let accepted = [];
    try { accepted = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map(Number); } catch { /* none */ }
    const acceptedByW1 = new Set(accepted);
    const failed = results.filter((r) => !r.ok);
    const unexcused = failed.filter((r) => !acceptedByW1.has(r.localPort));
    obs('result', {
      mode,
      total: results.length,
      answered: results.length - failed.length,
      answeredByW2AfterKill: results.filter((r) => r.ok && r.startedAfterKill && r.who === 'W2').length,
      failed: failed.length,
      excused: failed.length - unexcused.length,
      unexcused: unexcused.map((r) => r.err),
      w1AcceptedDuringLoad: accepted.length,
      exits,
    });
    cluster.disconnect();
  }
} else {
  const server = makeServer('http', `W${cluster.worker.id}`);
  if (process.env.RC_ACCEPT_LOG) {
    const fd = fs.openSync(process.env.RC_ACCEPT_LOG, 'a');
    // Node's worker-side cluster code answers a newconn with
    // process.send({cmd:'NODE_CLUSTER', ack, accepted}). Note the peer port
    // of each newconn as it arrives (this listener runs before cluster's),
    // and log it when the accepting reply is about to be sent.
    const peerOf = new Map();
    process.prependListener('internalMessage', (msg, handle) => {
      if (msg && msg.cmd === 'NODE_CLUSTER' && msg.act === 'newconn' && handle) {
        const out = {};
        handle.getpeername(out);
        peerOf.set(msg.seq, out.port);
      }
    });
    const send = process.send;
    process.send = function (msg, ...rest) {
      if (msg && msg.cmd === 'NODE_CLUSTER' && msg.accepted === true) fs.writeSync(fd, `${peerOf.get(msg.ack)}\n`);
      return send.call(this, msg, ...rest);
    };
  }
  server.listen(0);
  process.on('message', (m) => {
    if (m !== 'block') return;
    process.send('blocking', () => {
      const end = Date.now() + 10000;
      while (Date.now() < end) { /* stop reading the channel until killed */ }
    });
  });
}
