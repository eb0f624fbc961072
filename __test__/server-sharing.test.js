'use strict';
// Server sharing (docs/PROTOCOL.md §4.3-4.10): the same scenario runs under Node's
// built-in cluster and under rust-cluster, and both must observe the same
// (ports, pids and temp paths normalized). Each case also checks that the
// oracle run really exercised what the case claims, so a scenario that
// silently stopped testing something fails.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { agree, events } = require('./helpers/oracle');

// TLS key and certificate: made now with openssl when it is there, else the
// committed test pair.
const tlsEnv = {};
let tlsDir;
before(() => {
  try {
    tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-tls-'));
    const key = path.join(tlsDir, 'key.pem');
    const cert = path.join(tlsDir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore', timeout: 10000 });
    Object.assign(tlsEnv, { RC_TLS_KEY: key, RC_TLS_CERT: cert });
  } catch {
    const fixtures = path.join(__dirname, 'fixtures');
    Object.assign(tlsEnv, {
      RC_TLS_KEY: path.join(fixtures, 'server-tls-key.pem'), RC_TLS_CERT: path.join(fixtures, 'server-tls-cert.pem'),
    });
  }
});
after(() => { if (tlsDir) fs.rmSync(tlsDir, { recursive: true, force: true }); });


const POLICY = {
  rr: { args: 'rr', env: {} },
  none: { args: 'none', env: {} }, // cluster.schedulingPolicy = SCHED_NONE before the first fork
  'env=none': { args: 'env', env: { NODE_CLUSTER_SCHED_POLICY: 'none' } },
};

function share(proto, n, policy) {
  const p = POLICY[policy];
  return {
    name: `${proto}, ${n} worker${n > 1 ? 's' : ''}, ${policy}`,
    proto, n, policy, args: [proto, String(n), p.args], env: p.env,
  };
}

const CASES = [];
for (const n of [1, 2, 3, 4]) CASES.push(share('http', n, 'rr'));
CASES.push(share('http', 1, 'none'), share('udp', 1, 'rr'), share('pipe-abs', 1, 'rr'));
for (const proto of ['http', 'tcp', 'tls', 'udp', 'pipe-abs']) {
  if (proto !== 'http') CASES.push(share(proto, 2, 'rr'), share(proto, 4, 'rr'));
  CASES.push(share(proto, 3, 'none'), share(proto, 2, 'env=none'));
}
for (const proto of ['udp6', 'pipe-rel', 'pipe-long', 'pipe-rw']) CASES.push(share(proto, 2, 'rr'), share(proto, 2, 'none'));
for (const proto of ['pipe-r', 'pipe-w']) CASES.push(share(proto, 2, 'rr'));

// Socket file modes with umask 077: readableAll adds r for all, writableAll
// w for all; under SCHED_NONE the worker's fchmod never happens (its handle
// arrives after listen() returns), so the mode stays as bound.
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

// Socket file modes under umask 077. readableAll/writableAll add bits to the mode with the libuv
// of Node 20 and set it exactly with the libuv of Node 22 and later.
const EXACT_PIPE_MODE = NODE_MAJOR >= 22;
const SOCKET_MODE = {
  rr: EXACT_PIPE_MODE
    ? { 'pipe-abs': '700', 'pipe-rel': '700', 'pipe-long': '700', 'pipe-r': '444', 'pipe-w': '222', 'pipe-rw': '666' }
    : { 'pipe-abs': '700', 'pipe-rel': '700', 'pipe-long': '700', 'pipe-r': '744', 'pipe-w': '722', 'pipe-rw': '766' },
  none: { 'pipe-abs': '700', 'pipe-rel': '700', 'pipe-long': '700', 'pipe-r': '700', 'pipe-w': '700', 'pipe-rw': '700' },
};

describe('one server shared by N workers, real clients (server/share.js)', { concurrency: 3 }, () => {
  for (const c of CASES) {
    it(c.name, async (t) => {
      const oracle = await agree(t, 'server/share.js', { args: c.args, env: { ...c.env, ...tlsEnv }, timeoutMs: 30000 });
      const rr = c.policy === 'rr';
      const udp = c.proto.startsWith('udp');
      const pipe = c.proto.startsWith('pipe');
      const [policy] = events(oracle, 'P', 'policy');
      assert.strictEqual(policy.schedulingPolicy, rr ? 2 : 1);
      assert.deepStrictEqual(events(oracle, 'P', 'shared')[0], { ev: 'shared', distinctPorts: 1, allReady: true });
      assert.strictEqual(events(oracle, 'P', 'primary holds the socket')[0].holds, true);
      // Who holds the socket: the primary alone under round robin, every
      // worker under SCHED_NONE and for UDP.
      for (let id = 1; id <= c.n; id++) {
        assert.strictEqual(events(oracle, `W${id}`, 'listening')[0].holds, !rr || udp, `W${id} holds the socket`);
        const [wl] = events(oracle, `P:w${id}`, 'W.listening');
        const [cl] = events(oracle, `P:w${id}`, 'C.listening');
        assert.deepStrictEqual(cl.addr, wl.addr, "worker and cluster 'listening' get the same address");
        assert.strictEqual(wl.state, 'listening');
        assert.deepStrictEqual(Object.keys(wl.addr).sort(), ['address', 'addressType', 'fd', 'port']);
      }
      const [req] = events(oracle, 'P', 'requests');
      assert.deepStrictEqual([req.answered, req.failures], [req.total, []]);
      if (rr && !udp) assert.strictEqual(req.everyWorkerAnswered, true);
      assert.strictEqual(events(oracle, 'P', 'served')[0].sum, req.total);
      for (const a of events(oracle, 'P', 'after close')) assert.deepStrictEqual([a.answered, a.fromClosed], [3, 0]);
      const [last] = events(oracle, 'P', 'request after the last close');
      assert.deepStrictEqual(last.result, { err: udp ? 'TIMEOUT' : pipe ? 'ENOENT' : 'ECONNREFUSED' });
      if (!udp && !pipe) assert.strictEqual(events(oracle, 'P', 'backlog')[0].backlog, 511);
      if (pipe) {
        assert.strictEqual(events(oracle, 'P', 'socket file')[0].mode, SOCKET_MODE[rr ? 'rr' : 'none'][c.proto]);
        assert.strictEqual(events(oracle, 'P', 'socket file after the last close')[0].exists, false);
      }
      if (c.proto === 'tls') {
        assert.strictEqual(events(oracle, 'P', 'ticket keys')[0].allSame, true);
        const [s] = events(oracle, 'P', 'tls session');
        assert.strictEqual(s.resumedAfterFirst, s.of, 'sessions resume on any worker');
      }
      assert.strictEqual(events(oracle, 'P', 'disconnect callback').length, 1);
    });
  }
});

describe('listen()/bind() variants and errors in a worker (server/listen.js)', { concurrency: 3 }, () => {
  // A port that another process (this one) holds for the whole file.
  const holder = net.createServer();
  let held;
  before(() => new Promise((resolve) => holder.listen(0, () => { held = holder.address().port; resolve(); })));
  after(() => new Promise((resolve) => holder.close(resolve)));

  for (const policy of ['rr', 'none', 'env=none']) {
    // Under SCHED_NONE, Node 22 and 24's own primary makes this scenario's worker trip an internal
    // assertion (node:internal/cluster/child, shared()) at the second listen(P) in one worker, so
    // there is no oracle behaviour to compare with on those versions.
    const skip = policy !== 'rr' && NODE_MAJOR >= 22 && `Node ${NODE_MAJOR}'s own cluster crashes this scenario's worker under SCHED_NONE`;
    it(policy, { skip }, async (t) => {
      const p = POLICY[policy];
      const oracle = await agree(t, 'server/listen.js', { args: [p.args, String(held)], env: p.env, timeoutMs: 30000 });
      const rr = policy === 'rr';
      const steps = Object.fromEntries(events(oracle, 'W1', 'step').map((s) => [s.name, s]));
      const errorOf = (name) => {
        const e = steps[name].error;
        return e && [e.code, e.errno, e.syscall];
      };
      assert.strictEqual(steps['listen(0)'].holds, !rr);
      assert.strictEqual(steps['listen(0)'].backlog, 511);
      assert.strictEqual(steps['listen(0) again in the same worker'].differentPort, true);
      assert.ok(steps['listen(P)'].addr);
      assert.deepStrictEqual(errorOf('listen(P) again in the same worker'), ['EADDRINUSE', -98, 'bind']);
      assert.deepStrictEqual(errorOf('listen(port held by another process)'), ['EADDRINUSE', -98, 'bind']);
      assert.deepStrictEqual(errorOf('listen(0, 192.0.2.1)'), ['EADDRNOTAVAIL', -99, 'bind']);
      assert.deepStrictEqual(steps['listen(0, 127.0.0.1)'].connect, { v4: 'ok', v6: 'ECONNREFUSED' });
      assert.deepStrictEqual(steps['listen(0, ::1)'].connect, { v4: 'ECONNREFUSED', v6: 'ok' });
      assert.deepStrictEqual(steps['listen(0, ::)'].connect, { v4: 'ok', v6: 'ok' });
      assert.deepStrictEqual(steps['listen({port:0, host:"::", ipv6Only:true})'].connect, { v4: 'ECONNREFUSED', v6: 'ok' });
      // docs/PROTOCOL.md §4.3: ipv6Only without a host is dropped in cluster mode by Node 20 (Node 22
      // keeps it). agree() above already compared rust-cluster with the Node running the test.
      const ipv6OnlyKept = NODE_MAJOR >= 22;
      assert.deepStrictEqual(steps['listen({port:0, ipv6Only:true}) without a host'].connect,
        { v4: ipv6OnlyKept ? 'ECONNREFUSED' : 'ok', v6: 'ok' });
      assert.strictEqual(steps['listen({port:0, host:"localhost", backlog:100})'].backlog, 100);
      assert.strictEqual(steps['listen({port:0, backlog:7})'].backlog, 7);
      assert.strictEqual(steps['listen({port:0, exclusive:true})'].holds, true);
      assert.strictEqual(steps['listen(70000)'].threw.code, 'ERR_SOCKET_BAD_PORT');
      assert.strictEqual(steps['udp4 bind(0) again in the same worker'].differentPort, true);
      assert.ok(steps['udp4 bind({port:Q, reuseAddr:true})'].addr);
      assert.deepStrictEqual(errorOf('udp4 bind(P) again in the same worker'), ['EADDRINUSE', -98, 'bind']);
      assert.deepStrictEqual(errorOf('udp4 bind(0, 192.0.2.1)'), ['EADDRNOTAVAIL', -99, 'bind']);
      // exclusive servers never reach the primary: one 'listening' per
      // successful shared listen/bind, on the worker and on the cluster.
      const shared = Object.values(steps).filter((s) => s.addr && !/exclusive/.test(s.name)).length;
      assert.strictEqual(events(oracle, 'P', 'W.listening').length, shared);
      assert.strictEqual(events(oracle, 'P', 'C.listening').length, shared);
      assert.deepStrictEqual(events(oracle, 'P', 'C.exit').map((e) => [e.code, e.signal, e.ead]), [[0, null, true]]);
    });
  }
});

describe('keys and the shared port across close and listen again (server/rejoin.js)', { concurrency: 2 }, () => {
  for (const policy of ['rr', 'none']) {
    it(policy, async (t) => {
      const oracle = await agree(t, 'server/rejoin.js', { args: [policy], timeoutMs: 30000 });
      assert.strictEqual(events(oracle, 'P', 'both listen(0)')[0].samePort, true);
      assert.strictEqual(events(oracle, 'P', 'W1 listens again while W2 holds A')[0].samePortAsBefore, true);
      assert.strictEqual(events(oracle, 'P', 'second server in W1')[0].differentPort, true);
      if (policy === 'rr') assert.deepStrictEqual(events(oracle, 'P', 'A answered by')[0].rr, ['W1', 'W2']);
      assert.deepStrictEqual(events(oracle, 'P', 'A after both closed')[0].result, { err: 'ECONNREFUSED' });
      assert.strictEqual(events(oracle, 'P', 'W1 listen(0) after the handle is gone')[0].samePortAsBefore, false);
    });
  }
});

describe('connections held across worker changes (server/conns.js)', { concurrency: 3 }, () => {
  for (const policy of ['rr', 'none', 'env=none']) {
    it(`worker.disconnect() waits for the open connection, ${policy}`, async (t) => {
      const p = POLICY[policy];
      const oracle = await agree(t, 'server/conns.js', { args: ['disconnect_waits', p.args], env: p.env, timeoutMs: 30000 });
      const [later] = events(oracle, 'P', '300 ms later');
      assert.deepStrictEqual([later.connected, later.ead, later.listed], [true, true, false]);
      assert.deepStrictEqual(events(oracle, 'P', 'new connections meanwhile')[0].answeredBy, ['W2', 'W2', 'W2', 'W2']);
      assert.strictEqual(events(oracle, 'P', 'held connection closed')[0].answer, 'W1:bye');
      assert.strictEqual(events(oracle, 'P', 'W1 exited')[0].dead, true);
      assert.deepStrictEqual(events(oracle, 'P', 'after W1 exited')[0].answeredBy, ['W2', 'W2']);
    });
  }
  it('a worker at maxConnections refuses; the connection goes to another worker (rr)', async (t) => {
    const oracle = await agree(t, 'server/conns.js', { args: ['maxconn', 'rr'], timeoutMs: 30000 });
    assert.deepStrictEqual(events(oracle, 'P', 'while W1 is full')[0].answeredBy, Array(6).fill('W2'));
    assert.strictEqual(events(oracle, 'P', 'W1 connections')[0].count, 1);
    assert.deepStrictEqual(events(oracle, 'P', 'after W1 has room again')[0], { ev: 'after W1 has room again', both: true, failures: [] });
  });
});

describe('seed HTTP examples (server/seeds.js)', { concurrency: 3 }, () => {
  it('workers on one port count requests with messages', async (t) => {
    const oracle = await agree(t, 'server/seeds.js', { args: ['numreqs'], timeoutMs: 30000 });
    const [r] = events(oracle, 'P', 'numReqs');
    assert.strictEqual(r.numReqs, 10);
    assert.ok(r.answers.every((a) => a.status === 200 && a.body === 'hello world\n'));
  });
  it('the same under NODE_CLUSTER_SCHED_POLICY=none', async (t) => {
    const oracle = await agree(t, 'server/seeds.js', { args: ['numreqs'], env: { NODE_CLUSTER_SCHED_POLICY: 'none' }, timeoutMs: 30000 });
    assert.strictEqual(events(oracle, 'P', 'numReqs')[0].numReqs, 10);
  });
  it('silent workers: output in worker.process.stdout/stderr, serving works', async (t) => {
    const oracle = await agree(t, 'server/seeds.js', { args: ['silent'], timeoutMs: 30000 });
    const out = events(oracle, 'P', 'worker output');
    assert.ok(out.length >= 1);
    for (const o of out) assert.deepStrictEqual([o.stdout, o.stderr], [`Worker <n> started\nworker <n> listening\n`, 'Worker <n> on stderr\n']);
    assert.strictEqual(oracle.streams.text, undefined, 'nothing of the workers on the primary stdout');
  });
  it('workers that kill themselves after answering: isDead()', async (t) => {
    const oracle = await agree(t, 'server/seeds.js', { args: ['isdead'], timeoutMs: 30000 });
    const [a] = events(oracle, 'P', 'answers');
    assert.strictEqual(a.workersLeft, 0);
    assert.ok(a.answers.every((x) => x === 'Current process\n <pid>'));
  });
});
