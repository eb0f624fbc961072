'use strict';
// SCHED_REUSEPORT (docs/reuseport.md): one SO_REUSEPORT socket per worker.
// - What a program sees through Node's API is Node's: the server-sharing scenarios run under it
//   and under Node's round-robin (the policy a program that never heard of SCHED_REUSEPORT gets)
//   must agree, errors and listen(0) included. What differs by design (who holds the listening
//   socket) is reported as '<by policy>' by those scenarios and checked here on its own.
// - What it adds: the sockets (ss), and the connections a departed or stuck worker's socket holds
//   handed to the other worker; failures compared with Node's round-robin in the same steps.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { agree, events, runScenario, summary } = require('./helpers/oracle');

const fixtures = path.join(__dirname, 'fixtures');
const tlsEnv = {
  RC_TLS_KEY: path.join(fixtures, 'server-tls-key.pem'), RC_TLS_CERT: path.join(fixtures, 'server-tls-cert.pem'),
};

describe('Node\'s behaviour under SCHED_REUSEPORT (oracle: Node\'s round-robin)', { concurrency: 3 }, () => {
  const cases = [['http', 2], ['http', 3], ['tcp', 2], ['tls', 2], ['udp', 2], ['udp6', 2], ['pipe-abs', 2]];
  for (const [proto, n] of cases) {
    it(`server/share.js ${proto}, ${n} workers`, async (t) => {
      const oracle = await agree(t, 'server/share.js', { args: [proto, String(n), 'reuseport'], env: tlsEnv, timeoutMs: 30000 });
      const udp = proto.startsWith('udp');
      const pipe = proto.startsWith('pipe');
      assert.deepStrictEqual(events(oracle, 'P', 'shared')[0], { ev: 'shared', distinctPorts: 1, allReady: true });
      const [req] = events(oracle, 'P', 'requests');
      assert.deepStrictEqual([req.answered, req.failures], [req.total, []]);
      assert.strictEqual(events(oracle, 'P', 'served')[0].sum, req.total);
      for (const a of events(oracle, 'P', 'after close')) assert.deepStrictEqual([a.answered, a.fromClosed], [3, 0]);
      const [last] = events(oracle, 'P', 'request after the last close');
      assert.deepStrictEqual(last.result, { err: udp ? 'TIMEOUT' : pipe ? 'ENOENT' : 'ECONNREFUSED' });
      if (!udp && !pipe) assert.strictEqual(events(oracle, 'P', 'backlog')[0].backlog, 511);
    });
  }

  it('server/listen.js: listen()/bind() variants and their errors', async (t) => {
    const net = require('node:net');
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, resolve));
    try {
      const oracle = await agree(t, 'server/listen.js', { args: ['reuseport', String(holder.address().port)], timeoutMs: 30000 });
      const steps = Object.fromEntries(events(oracle, 'W1', 'step').map((s) => [s.name, s]));
      const errorOf = (name) => steps[name].error && [steps[name].error.code, steps[name].error.syscall];
      assert.strictEqual(steps['listen(0) again in the same worker'].differentPort, true);
      assert.deepStrictEqual(errorOf('listen(P) again in the same worker'), ['EADDRINUSE', 'bind']);
      assert.deepStrictEqual(errorOf('listen(port held by another process)'), ['EADDRINUSE', 'bind']);
      assert.deepStrictEqual(errorOf('listen(0, 192.0.2.1)'), ['EADDRNOTAVAIL', 'bind']);
      assert.deepStrictEqual(steps['listen(0, ::)'].connect, { v4: 'ok', v6: 'ok' });
      assert.deepStrictEqual(errorOf('udp4 bind(P) again in the same worker'), ['EADDRINUSE', 'bind']);
    } finally {
      holder.close();
    }
  });

  it('server/rejoin.js: keys and the shared port across close and listen again', async (t) => {
    const oracle = await agree(t, 'server/rejoin.js', { args: ['reuseport'], timeoutMs: 30000 });
    assert.strictEqual(events(oracle, 'P', 'both listen(0)')[0].samePort, true);
    assert.deepStrictEqual(events(oracle, 'P', 'A after both closed')[0].result, { err: 'ECONNREFUSED' });
  });

  it('server/conns.js: worker.disconnect() waits for the open connection', async (t) => {
    const oracle = await agree(t, 'server/conns.js', { args: ['disconnect_waits', 'reuseport'], timeoutMs: 30000 });
    assert.deepStrictEqual(events(oracle, 'P', 'new connections meanwhile')[0].answeredBy, ['W2', 'W2', 'W2', 'W2']);
  });

  it('a second cluster on the port gets EADDRINUSE', async (t) => {
    const oracle = await agree(t, 'reuseport/two-clusters.js', { timeoutMs: 30000 });
    assert.deepStrictEqual([events(oracle, 'P', 'second cluster')[0].error.code, events(oracle, 'P', 'second cluster')[0].error.syscall],
      ['EADDRINUSE', 'bind']);
    assert.strictEqual(events(oracle, 'P', 'first still answers')[0].answer, 'W1:x');
  });
});

async function rust(file, args, env = {}) {
  const r = summary(await runScenario(file, 'rust', { args, env, timeoutMs: 30000 }));
  assert.deepStrictEqual({ exit: r.exit, problems: r.problems }, { exit: { code: 0, signal: null }, problems: [] },
    JSON.stringify(r.streams, null, 1));
  return r;
}

describe('what SCHED_REUSEPORT adds', { concurrency: 2 }, () => {
  for (const [kind, n, how] of [['tcp', 2, 'property'], ['tcp', 3, 'env'], ['udp', 2, 'property']]) {
    it(`one ${kind} socket per worker, ${n} workers (${how})`, async () => {
      const env = how === 'env' ? { NODE_CLUSTER_SCHED_POLICY: 'reuseport' } : {};
      const r = await rust('reuseport/sockets.js', [kind, String(n), how], env);
      assert.deepStrictEqual(events(r, 'P', 'policy')[0], {
        ev: 'policy', schedulingPolicy: 3, constant: 3, enumerable: false,
      });
      assert.deepStrictEqual(events(r, 'P', 'sockets')[0], {
        ev: 'sockets', samePort: true, socketsOnIt: n, eachWorkerOne: true, distinct: n, primaryHoldsEvery: true,
      });
      const [req] = events(r, 'P', 'requests');
      assert.deepStrictEqual([req.answered, req.workersAnswering], [req.of, n], 'the kernel spreads them over every worker');
    });
  }

  for (const mode of ['exit', 'kill']) {
    it(`a worker that ${mode === 'exit' ? 'exits' : 'is SIGKILLed'} with connections waiting on its socket: they are handed on`, async () => {
      const [node, mine] = await Promise.all([
        runScenario('reuseport/rescue.js', 'node', { args: [mode], timeoutMs: 30000 }).then(summary),
        rust('reuseport/rescue.js', [mode]),
      ]);
      const [queued, result] = events(mine, 'P', 'measure');
      assert.ok(queued.queuedOnW1 > 0, `connections waited on W1's socket: ${JSON.stringify(queued)}`);
      assert.deepStrictEqual([result.answered, result.failed, result.byW1], [24, 0, 0], JSON.stringify(result));
      const nodeResult = events(node, 'P', 'measure')[1];
      assert.ok(result.failed <= nodeResult.failed, `no more failures than round-robin (${JSON.stringify(nodeResult)})`);
      assert.deepStrictEqual(events(mine, 'P', 'W1 exit')[0], mode === 'exit'
        ? { ev: 'W1 exit', code: 0, signal: null }
        : { ev: 'W1 exit', code: null, signal: 'SIGKILL' });
    });
  }

  it('a blocked worker\'s queue is handed to the other worker while it is still blocked', async () => {
    const [stuck, off] = await Promise.all([rust('reuseport/rescue.js', ['stuck']), rust('reuseport/rescue.js', ['stuck-off'])]);
    const s = events(stuck, 'P', 'measure')[0];
    assert.deepStrictEqual([s.answered, s.beforeUnblock, s.byW1], [24, 24, 0], JSON.stringify(s));
    // Without the rescue (rescueAfter: 0), what the kernel put in W1's socket waits for W1.
    const o = events(off, 'P', 'measure')[0];
    assert.strictEqual(o.answered, 24);
    assert.ok(o.byW1 > 0 && o.beforeUnblock === 24 - o.byW1, JSON.stringify(o));
  });
});
