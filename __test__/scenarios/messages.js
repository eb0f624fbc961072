'use strict';
// User messages between the primary and one worker. The primary sends each
// value, waits for its send callback and for the worker's echo, and records
// return value, callback argument, listener arguments and the echoed value.
// Also: messages that look internal, in both directions, and a 1 MiB string.
const { isDeepStrictEqual } = require('node:util');
const { cluster, obs, short, safety } = require('../helpers/observe');

safety();

const big = 'abc\u2028é😀\n'.repeat(1 << 17).slice(0, 1 << 20); // 1 MiB (UTF-16 units)

const VALUES = [
  'hello', '', 'multi\nline\r\n\ttab "quote" \\ backslash', 'héllo wörld ✓ 😀', '\u2028 and \u2029',
  'nul\u0000byte', 'lone \ud800 surrogate',
  0, 42, -1.5, 1e308, 2 ** 53 + 2, -0,
  true, false, null,
  [], {}, [1, 'two', { three: 3 }, [null, []]],
  { a: 1, b: 'str', c: [1, 2, 3], nested: { deeper: { deepest: [{ k: 'v' }, null, false, 1.5] } } },
  { 'key with spaces': 1, 'ünï': 2, '': 3 },
  { gone: undefined, kept: 1 }, { date: new Date(0) }, [NaN, Infinity, undefined],
  { cmd: 'NODE_' }, { cmd: 'node_x' }, { cmd: 'NODE' }, { cmd: 42 }, { a: { cmd: 'NODE_CLUSTER' } },
  big,
];

if (cluster.isPrimary) {
  const w = cluster.fork();
  let waiting = null; // resolves with the next user message from the worker
  let lastCluster = null; // arguments of the cluster 'message' event for it
  cluster.on('message', function (worker, msg, handle) {
    // Node emits this before the Worker 'message' listeners added by user code.
    lastCluster = [arguments.length, worker === w, handle === undefined];
  });
  w.on('message', (msg, handle, ...rest) => {
    const c = lastCluster;
    lastCluster = null;
    const entry = { msg, workerArgs: [2 + rest.length, handle === undefined], clusterArgs: c };
    if (waiting) {
      const resolve = waiting;
      waiting = null;
      resolve(entry);
    } else {
      obs('unexpected message', { msg: short(msg) });
    }
  });
  const nextMessage = () => new Promise((resolve) => { waiting = resolve; });

  // Send `value` with the given call shape; wait for callback and echo.
  async function roundTrip(i, value, shape = 'cb') {
    const echo = nextMessage();
    let cbArgs;
    let cbCalled;
    const cbDone = new Promise((resolve) => { cbCalled = resolve; });
    const cb = (...args) => { cbArgs = args; cbCalled(); };
    let ret;
    if (shape === 'cb') ret = w.send(value, cb);
    else if (shape === 'null,cb') ret = w.send(value, null, cb);
    else ret = w.send(value, null, {}, cb);
    obs('sent', { i, shape, ret, cbSync: cbArgs !== undefined, value: short(value) });
    await cbDone;
    obs('send callback', { i, args: cbArgs });
    const got = await echo;
    obs('echo', {
      i, same: isDeepStrictEqual(got.msg, JSON.parse(JSON.stringify(value))), value: short(got.msg),
      workerArgs: got.workerArgs, clusterArgs: got.clusterArgs,
    });
  }

  nextMessage().then(async ({ msg }) => {
    obs('first message', { msg });
    for (let i = 0; i < VALUES.length; i++) await roundTrip(i, VALUES[i]);
    await roundTrip('shape1', 'via send(msg, null, cb)', 'null,cb');
    await roundTrip('shape2', 'via send(msg, null, {}, cb)', 'null,{},cb');

    // Internal-looking in both directions: dropped, the next message arrives.
    obs('send NODE_FOO', { ret: w.send({ cmd: 'NODE_FOO', x: 1 }) });
    obs('send NODE_CLUSTERX', { ret: w.send({ cmd: 'NODE_CLUSTERX', note: 'internal: starts with NODE_' }) });
    await roundTrip('after internal', 'after-internal');
    w.send('send-internal-back');
    const after = await nextMessage();
    obs('after worker sent NODE_FOO', { msg: after.msg });

    w.disconnect();
  });
  w.on('exit', (code, signal) => obs('exit', { code, signal }));
} else {
  let n = 0;
  let workerEvent = null;
  // Registered by Node before any user listener on process, so it runs first.
  cluster.worker.on('message', (msg, handle, ...rest) => {
    workerEvent = { argc: 2 + rest.length, handle, msg: short(msg) };
  });
  process.on('message', (msg, handle, ...rest) => {
    if (msg === 'send-internal-back') {
      obs('send NODE_FOO back', { ret: process.send({ cmd: 'NODE_FOO', y: 2 }) });
      process.send('after-internal-back');
      return;
    }
    obs('recv', { n, value: short(msg), argc: 2 + rest.length, handle, workerEvent });
    workerEvent = null;
    // Echo through both worker-side APIs.
    const via = n % 2 === 0 ? 'process.send' : 'cluster.worker.send';
    const ret = n % 2 === 0 ? process.send(msg) : cluster.worker.send(msg);
    obs('echo sent', { n, ret, via });
    n++;
  });
  process.send('ready');
}
