'use strict';
// Row 1: IPC echo, the scenario of Node's benchmark/cluster/echo.js.
// One worker echoes every message; the primary sends `sends` messages per broadcast and starts the
// next broadcast when all of them came back. Result: broadcasts per second (rounds_per_s).
//
//   node bench/cases/echo.js --impl=node|rust [--payload=string|object] [--sends=1|10]
//        [--serialization=json|advanced] [--duration=ms] [--warmup=ms] [--max=rounds]
const { run } = require('../lib/ipc-loop.js');
const { num } = require('../lib/common.js');

const PAYLOADS = {
  string: 'hello world!',
  object: { action: 'pewpewpew', powerLevel: 9001 },
};

run('echo', (a) => {
  const payloadDesc = a.payload || 'string';
  if (!(payloadDesc in PAYLOADS)) throw new Error(`--payload must be string or object`);
  return {
    workers: 1,
    serialization: a.serialization || 'json',
    payload: PAYLOADS[payloadDesc],
    payloadDesc,
    batch: num(a.sends, 1),
    window: 1,
    reply: 'echo',
    warmupMs: num(a.warmup, 300),
    durationMs: num(a.duration, 2000),
    maxRounds: num(a.max, 2e6),
  };
});
