'use strict';
// Handle passing: worker.send(message, sendHandle[, options][, callback])
// from the primary and process.send(message, handle) from a worker, with
// net.Socket, net.Server and dgram.Socket; keepOpen; callbacks and return
// values; order of messages queued behind a handle; both directions at
// once; a big message with a handle; bad handles; descriptor accounting
// over 10,000 handle sends. Every scenario runs under Node's cluster (the
// oracle) and rust-cluster, and their observations must be equal.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { agree, agreeMeasured, events, runScenario } = require('./helpers/oracle');

const T = 20000;

const ev1 = (s, stream, ev) => events(s, stream, ev);

describe('handles: primary -> worker', { concurrency: 2 }, () => {
  for (const mode of ['json', 'advanced']) {
    it(`net.Socket with and without keepOpen, callbacks, return values (handle/socket.js ${mode})`, async (t) => {
      const o = await agree(t, 'handle/socket.js', { args: [mode, 'send'], timeoutMs: T });
      assert.deepStrictEqual(ev1(o, 'P', 'sent').map((e) => e.ret), [true, true, true, true]);
      assert.ok(ev1(o, 'P', 'send callback').every((e) => e.args.length === 1 && e.args[0] === null && e.sync === false));
      const saw = Object.fromEntries(ev1(o, 'P', 'client saw').map((e) => [e.label, e]));
      assert.ok(/^reply from worker/.test(saw['no options'].lines[0]) && saw['no options'].end);
      assert.deepStrictEqual(saw['keepOpen:true'].lines.length, 2);
      assert.strictEqual(ev1(o, 'P', 'client before the primary writes')[0].end, false,
        'with keepOpen the primary still holds the connection after the worker closed its copy');
    });
  }

  it('getConnections() and close() of the server while the worker holds a socket from it (handle/socket.js json held)', async (t) => {
    const o = await agree(t, 'handle/socket.js', { args: ['json', 'held'], timeoutMs: T });
    assert.strictEqual(ev1(o, 'P', 'getConnections while the worker holds a socket')[0].n, 1);
    assert.strictEqual(ev1(o, 'P', 'server closed before the worker let go')[0].closed, false);
    assert.strictEqual(ev1(o, 'P', 'server closed after the worker let go')[0].closed, true);
  });

  for (const mode of ['json', 'advanced']) {
    it(`net.Server (tcp4, tcp6) and dgram.Socket (udp4, udp6) used by the worker (handle/server.js ${mode})`, async (t) => {
      const o = await agree(t, 'handle/server.js', { args: [mode], timeoutMs: T });
      const clients = ev1(o, 'P', 'client');
      assert.strictEqual(clients.length, 4);
      for (const c of clients) {
        const got = c.lines || c.echoes;
        assert.ok(got.length > 0 && got.every((l) => /worker 1/.test(l)), `${c.what} served by the worker: ${JSON.stringify(c)}`);
      }
    });
  }
});

describe('handles: the seed programs', { concurrency: 2 }, () => {
  it("worker.send('socket', socket) for every other connection, setupMaster({ exec }) (handle/seed.js socket)", async (t) => {
    const o = await agree(t, 'handle/seed.js', { args: ['socket'], timeoutMs: T });
    assert.deepStrictEqual(ev1(o, 'P', 'answers')[0].answers.filter((a) => /worker/.test(a)).length, 3);
  });
  it("worker.send('server', server) to two workers (handle/seed.js server)", async (t) => {
    const o = await agree(t, 'handle/seed.js', { args: ['server'], timeoutMs: T });
    assert.deepStrictEqual(ev1(o, 'P', 'answers')[0], { ev: 'answers', count: 8, valid: true });
  });
});

describe('handles: worker -> primary', { concurrency: 2 }, () => {
  for (const mode of ['json', 'advanced']) {
    it(`net.Socket, net.Server, dgram.Socket usable in the primary (handle/reverse.js ${mode})`, async (t) => {
      const o = await agree(t, 'handle/reverse.js', { args: [mode, 'use'], timeoutMs: T });
      const got = ev1(o, 'P', 'primary got');
      assert.deepStrictEqual(got.map((g) => g.handle.kind), ['net.Socket', 'net.Server', 'dgram.Socket', 'dgram.Socket']);
      assert.ok(got.every((g) => g.clusterEvent && g.clusterEvent.sameHandle && g.clusterEvent.sameWorker));
      assert.strictEqual(ev1(o, 'P', 'echoes from the passed dgram socket').flatMap((e) => e.echoes).length, 6);
    });
  }

  it('a raw native TCP handle from the worker (handle/reverse.js json native)', async (t) => {
    const o = await agree(t, 'handle/reverse.js', { args: ['json', 'native'], timeoutMs: T });
    assert.strictEqual(ev1(o, 'P', 'primary got')[0].handle.kind, 'other:TCP');
  });

  it('a socket the worker accepted: getConnections() and close() answered by the primary (handle/reverse.js json socketlist)', async (t) => {
    const o = await agree(t, 'handle/reverse.js', { args: ['json', 'socketlist'], timeoutMs: T });
    assert.deepStrictEqual(ev1(o, 'P', 'worker getConnections')[0], { ev: 'worker getConnections', answered: true, err: null, n: 1 });
    assert.strictEqual(ev1(o, 'P', 'worker server closed after the primary let go')[0].closed, true);
  });
});

describe('handles: queueing and order', { concurrency: 2 }, () => {
  for (const mode of ['json', 'advanced']) {
    it(`messages queued behind handles, return values, callbacks, same handle twice (handle/order.js ${mode} queue)`, async (t) => {
      const o = await agree(t, 'handle/order.js', { args: [mode, 'queue'], timeoutMs: T });
      const rets = events(o, 'P:P->W', 'burst returns')[0].rets.map((r) => r.ret);
      assert.deepStrictEqual(rets, [true, true, false, false, false, false, false, false, false, false],
        'true for the handle, true for the first message queued behind it, false after');
      assert.deepStrictEqual(events(o, 'P:P->W', 'burst callbacks')[0].callbacks.map((c) => c.n), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepStrictEqual(ev1(o, 'P', 'worker received')[0].record.map((r) => r.n), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.strictEqual(ev1(o, 'P', 'worker received')[0].record[7].kind, 'undefined', 'a socket sent again after it was handed off goes without a handle');
    });
  }

  for (const mode of ['json', 'advanced']) {
    it(`a round-robin connection waits in line with messages kept behind a handle (handle/internal-order.js ${mode})`, async (t) => {
      const o = await agree(t, 'handle/internal-order.js', { args: [mode], timeoutMs: T });
      assert.strictEqual(ev1(o, 'P', 'worker saw')[0].order, '1,2,connection,3');
      assert.strictEqual(ev1(o, 'P:client', 'client got')[0].reply, 'hello');
    });
  }

  for (const mode of ['json', 'advanced']) {
    it(`a kept handle that has no descriptor when its turn comes fails and gives up its place (handle/internal-order.js ${mode} nofd)`, async (t) => {
      const o = await agree(t, 'handle/internal-order.js', { args: [mode, 'nofd'], timeoutMs: T });
      assert.strictEqual(ev1(o, 'P', 'message 2 callback')[0].code, 'EBADF');
      assert.strictEqual(ev1(o, 'P', 'worker saw')[0].order, '1,connection,3');
    });
  }

  // A refused handle: Node's primary sends it again wrapped in a second envelope, its worker
  // answers that twice, and the second ACK trips an assertion that ends Node's primary. So this
  // runs against Node only to see that; rust-cluster sends the message and handle again, ahead
  // of what waited behind it.
  it('a handle the worker refuses once goes again before what waited for it (handle/internal-order.js json nack)', async () => {
    const [rust, node] = await Promise.all([
      runScenario('handle/internal-order.js', 'rust', { args: ['json', 'nack'], timeoutMs: T }),
      runScenario('handle/internal-order.js', 'node', { args: ['json', 'nack'], timeoutMs: T }),
    ]);
    assert.notStrictEqual(node.code, 0, `Node's primary was expected to die:\n${node.stdout}`);
    assert.match(node.stderr, /ERR_INTERNAL_ASSERTION/);
    assert.deepStrictEqual(rust.problems, [], rust.stderr);
    assert.strictEqual(rust.code, 0, rust.stderr);
    assert.strictEqual(events(rust.streams, 'P', 'worker saw')[0].order, '1,1,2,connection,3');
    assert.strictEqual(events(rust.streams, 'P:client', 'client got')[0].reply, 'hello');
    assert.strictEqual(events(rust.streams, 'P:own', 'closed by the worker').length, 1);
  });

  // A kept message that throws when its turn comes: Node drops everything queued behind it,
  // the round-robin connection included (its client is never answered); rust-cluster drops the
  // user's messages behind it the same way, and the engine's connection still goes.
  it('a kept message that cannot be serialized when its turn comes (handle/internal-order.js json throw)', async () => {
    const [rust, node] = await Promise.all([
      runScenario('handle/internal-order.js', 'rust', { args: ['json', 'throw'], timeoutMs: T }),
      runScenario('handle/internal-order.js', 'node', { args: ['json', 'throw'], timeoutMs: T }),
    ]);
    for (const run of [rust, node]) {
      assert.deepStrictEqual(run.problems, [], run.stderr);
      assert.strictEqual(run.code, 0, run.stderr);
      assert.deepStrictEqual(events(run.streams, 'P', 'uncaught'), [{ ev: 'uncaught', name: 'TypeError' }]);
    }
    assert.strictEqual(events(node.streams, 'P', 'worker saw')[0].order, '1,4');
    assert.strictEqual(events(node.streams, 'P:client', 'client got')[0].reply, 'nothing in 1.5 s');
    assert.strictEqual(events(rust.streams, 'P', 'worker saw')[0].order, '1,connection,4');
    assert.strictEqual(events(rust.streams, 'P:client', 'client got')[0].reply, 'hello');
  });

  it('both directions passing handles at the same time (handle/order.js json both)', async (t) => {
    const o = await agree(t, 'handle/order.js', { args: ['json', 'both'], timeoutMs: T });
    const expected = { count: 200, order: 'in order', kinds: 'S-'.repeat(100) };
    assert.deepStrictEqual(ev1(o, 'P', 'primary got from the worker')[0].result, expected);
    assert.deepStrictEqual(ev1(o, 'P', 'worker got from the primary')[0].result, expected);
  });

  for (const how of ['disconnect', 'process-disconnect']) {
    it(`${how}() right after send(handle) and two queued messages (handle/pending.js ${how})`, async (t) => {
      const o = await agree(t, 'handle/pending.js', { args: [how], timeoutMs: T });
      assert.deepStrictEqual(ev1(o, 'P', 'sent')[0].rets, [true, true, false]);
      assert.deepStrictEqual(ev1(o, 'P', 'callback').map((c) => c.label), ['handle', 'queued 1', 'queued 2']);
      assert.deepStrictEqual(ev1(o, 'W1', 'worker got').map((g) => g.msg.label), ['handle', 'queued 1', 'queued 2']);
    });
  }

  for (const mode of ['json', 'advanced']) {
    it(`a ~600 KB message carrying a handle, each way (handle/order.js ${mode} big)`, async (t) => {
      const o = await agree(t, 'handle/order.js', { args: [mode, 'big'], timeoutMs: T });
      assert.strictEqual(ev1(o, 'P', 'worker got')[0].intact, true);
      assert.strictEqual(ev1(o, 'P', 'primary got big')[0].intact, true);
      assert.deepStrictEqual(ev1(o, 'P', 'primary order')[0].order, ['big', 'after big']);
    });
    it(`an ACK sent while a 4 MiB message is half written goes between messages (handle/ack-mid-message.js ${mode})`, async (t) => {
      const o = await agree(t, 'handle/ack-mid-message.js', { args: [mode], timeoutMs: T });
      const [read] = ev1(o, 'P', 'worker read the large message');
      assert.deepStrictEqual([read.length, read.intact], [4 << 20, true]);
      assert.strictEqual(ev1(o, 'P', 'exit')[0].code, 0);
    });
  }
});

describe('handles: bad and empty handles', { concurrency: 2 }, () => {
  it('ERR_INVALID_HANDLE_TYPE for values that are not handles (handle/errors.js json invalid)', async (t) => {
    const o = await agree(t, 'handle/errors.js', { args: ['json', 'invalid'], timeoutMs: T });
    const sends = ev1(o, 'P', 'send');
    assert.ok(sends.filter((s) => /^bad handle/.test(s.label)).every((s) => s.threw === 'TypeError' && s.code === 'ERR_INVALID_HANDLE_TYPE'));
  });
  it('a falsy handle argument is ignored (handle/errors.js json falsy)', async (t) => {
    const o = await agree(t, 'handle/errors.js', { args: ['json', 'falsy'], timeoutMs: T });
    assert.ok(ev1(o, 'P', 'send').every((s) => s.ret === true));
  });
  it('handles without a descriptor go as plain messages (handle/errors.js advanced empty)', async (t) => {
    const o = await agree(t, 'handle/errors.js', { args: ['advanced', 'empty'], timeoutMs: T });
    assert.ok(ev1(o, 'P', 'worker got').every((g) => g.kind === 'undefined'));
  });
  for (const mode of ['json', 'advanced']) {
    it(`a handle with no descriptor yet fails with EBADF and the channel goes on (handle/errors.js ${mode} nofd)`, async (t) => {
      const o = await agree(t, 'handle/errors.js', { args: [mode, 'nofd'], timeoutMs: T });
      assert.deepStrictEqual(ev1(o, 'P', 'callback').map((c) => c.err && c.err.code), ['EBADF', 'EBADF', null, 'EBADF', null, null]);
      assert.strictEqual(ev1(o, 'P', 'error event')[0].err.code, 'EBADF');
      assert.deepStrictEqual(ev1(o, 'P', 'worker got').map((g) => g.label),
        ['real handle', 'kept after it', 'plain message after all that']);
    });
  }
  it('a raw native TCP handle (handle/errors.js json native)', async (t) => {
    const o = await agree(t, 'handle/errors.js', { args: ['json', 'native'], timeoutMs: T });
    assert.strictEqual(ev1(o, 'P', 'worker got')[0].kind, 'other:TCP');
  });
});

describe('handles: descriptors over many sends', { concurrency: 1 }, () => {
  const cases = [
    ['send', '10000', 'server,dgram,socket'],
    ['send', '10000', 'server,socket'],
    ['recv', '10000', 'server,dgram,socket'],
    ['fresh', '600', 'socket'],
  ];
  for (const [part, total, kinds] of cases) {
    it(`primary fd count unchanged (±2) after ${total} handle sends: ${part} ${kinds} (handle/fds.js)`, async (t) => {
      const { oracle, measures } = await agreeMeasured(t, 'handle/fds.js', { args: ['json', part, total, kinds], timeoutMs: 40000 });
      assert.strictEqual(ev1(oracle, 'P', 'fds after the sends')[0].withinTwo, true);
      for (const [impl, m] of Object.entries({ node: measures.oracle, candidate: measures.candidate })) {
        assert.ok(m && Math.abs(m.delta) <= 2, `${impl}: ${JSON.stringify(m)}`);
      }
    });
  }
});
