'use strict';
// Row 2: pipelined IPC round trips. One worker echoes; the primary keeps 256 messages in flight.
// The payload is a string of `size` bytes. Result: round trips per second (rounds_per_s).
//
//   node bench/cases/pipeline.js --impl=node|rust [--size=bytes] [--serialization=json|advanced]
//        [--inflight=256] [--duration=ms] [--warmup=ms] [--max=round trips]
const { run } = require('../lib/ipc-loop.js');
const { num } = require('../lib/common.js');

run('pipeline', (a) => {
  const size = num(a.size, 64);
  return {
    workers: 1,
    serialization: a.serialization || 'json',
    payload: 'x'.repeat(size),
    payloadDesc: `${size}B string`,
    batch: 1,
    window: num(a.inflight, 256),
    reply: 'echo',
    warmupMs: num(a.warmup, 300),
    durationMs: num(a.duration, 2000),
    maxRounds: num(a.max, 5e6),
  };
});
