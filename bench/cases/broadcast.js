'use strict';
// Row 3: broadcast. One message to each of 8 workers per broadcast; every worker acks each message
// with a one-byte reply; up to 16 broadcasts outstanding. Result: messages delivered (acked) per
// second (replies_per_s).
//
//   node bench/cases/broadcast.js --impl=node|rust [--size=small|<bytes>] [--workers=8]
//        [--serialization=json|advanced] [--window=16] [--duration=ms] [--warmup=ms] [--max=broadcasts]
const { run } = require('../lib/ipc-loop.js');
const { num } = require('../lib/common.js');

run('broadcast', (a) => {
  const small = a.size === undefined || a.size === 'small';
  return {
    workers: num(a.workers, 8),
    serialization: a.serialization || 'json',
    payload: small ? { action: 'pewpewpew', powerLevel: 9001 } : 'x'.repeat(num(a.size)),
    payloadDesc: small ? 'small object' : `${a.size}B string`,
    batch: 1,
    window: num(a.window, 16),
    reply: 'ack',
    warmupMs: num(a.warmup, 300),
    durationMs: num(a.duration, 2000),
    maxRounds: num(a.max, 2e6),
  };
});
