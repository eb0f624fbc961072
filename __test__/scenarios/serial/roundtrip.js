'use strict';
// Round trips of structured values (serial/values.js) in both directions:
// primary -> worker -> primary (echo) and worker -> primary, then values
// that send() must refuse, in the primary and in the worker.
//   node serial/roundtrip.js <how>
//     setup:  cluster.setupPrimary({ serialization: 'advanced' })
//     assign: cluster.settings = { serialization: 'advanced' } before fork()
//     mutate: cluster.settings.serialization = 'advanced' before fork()
//     json:   default serialization, for comparison
// Every value is followed by a marker message naming it, so a value that
// could not be sent leaves no gap in the pairing.
const { isDeepStrictEqual } = require('node:util');
const { cluster, obs, safety } = require('../../helpers/observe');
const { build, unsendable, describe: fullDescribe, compact } = require('./values');

const describe = (v) => compact(fullDescribe(v));

safety(15000);
const how = process.argv[2] || 'setup';
const MARK = '\u0000label';

function attempt(fn) {
  try {
    return { ret: fn() };
  } catch (err) {
    return { threw: err && err.name, code: err && err.code, message: err && String(err.message).split('\n')[0] };
  }
}

// Pairs each value with the marker that follows it.
function pairer(onPair) {
  let pending = [];
  return (msg) => {
    if (msg !== null && typeof msg === 'object' && Object.prototype.hasOwnProperty.call(msg, MARK)) {
      onPair(msg[MARK], pending);
      pending = [];
    } else {
      pending.push(msg);
    }
  };
}

if (cluster.isPrimary) {
  if (how === 'setup') cluster.setupPrimary({ serialization: 'advanced' });
  else if (how === 'assign') cluster.settings = { serialization: 'advanced' };
  else if (how === 'mutate') cluster.settings.serialization = 'advanced';
  else if (how !== 'json') throw new Error(`bad argument ${how}`);
  const w = cluster.fork();
  obs('settings', { serialization: cluster.settings.serialization });
  const makers = new Map(build());
  let expectEcho = null;
  let fromWorkerDone = null;
  const onPair = pairer((label, values) => {
    if (expectEcho) {
      const resolve = expectEcho;
      expectEcho = null;
      resolve({ label, values });
      return;
    }
    if (label === 'all sent') {
      fromWorkerDone();
      return;
    }
    if (label === 'ready') {
      start();
      return;
    }
    const value = values[0];
    obs('from worker', {
      label, count: values.length, d: describe(value), same: isDeepStrictEqual(value, makers.get(label)()),
    });
  });
  w.on('message', onPair);
  w.on('exit', (code, signal) => obs('exit', { code, signal }));

  async function start() {
    // Primary -> worker -> primary.
    for (const [label, make] of build()) {
      const value = make();
      const r = attempt(() => w.send(value));
      if (r.threw) obs('send threw', { label, ...r });
      const echoed = new Promise((resolve) => { expectEcho = resolve; });
      w.send({ [MARK]: label });
      const echo = await echoed;
      if (r.threw) continue;
      obs('echo', {
        label, count: echo.values.length, d: describe(echo.values[0]), same: isDeepStrictEqual(echo.values[0], make()),
      });
    }
    // Worker -> primary.
    const done = new Promise((resolve) => { fromWorkerDone = resolve; });
    w.send({ cmd: 'send all' });
    await done;
    // Refused values.
    for (const [label, make] of unsendable()) obs('unsendable', { label, ...attempt(() => w.send(make())) });
    const echoed = new Promise((resolve) => { expectEcho = resolve; });
    w.send('still fine');
    w.send({ [MARK]: 'after the refused sends' });
    obs('channel after the refused sends', await echoed);
    w.disconnect();
  }
} else {
  let sendingAll = false;
  const onPair = pairer((label, values) => {
    if (label === 'after the refused sends') {
      process.send(values[0]);
      process.send({ [MARK]: label });
      return;
    }
    if (values.length > 0) obs('worker got', { label, count: values.length, d: describe(values[0]) });
    // Echo back what came (nothing when the primary could not send it).
    for (const v of values) process.send(v);
    process.send({ [MARK]: label });
  });
  process.on('message', (msg) => {
    if (msg && msg.cmd === 'send all' && !sendingAll) {
      sendingAll = true;
      for (const [label, make] of build()) {
        const r = attempt(() => process.send(make()));
        if (r.threw) obs('worker send threw', { label, ...r });
        process.send({ [MARK]: label });
      }
      for (const [label, make] of unsendable()) obs('worker unsendable', { label, ...attempt(() => process.send(make())) });
      process.send({ [MARK]: 'all sent' });
      return;
    }
    onPair(msg);
  });
  process.send({ [MARK]: 'ready' });
}
