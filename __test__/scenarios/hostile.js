'use strict';
// A worker that writes hostile bytes straight onto the IPC channel (fd 3) next to a well-behaved
// worker. argv[2] picks the input. The primary records what it sees; the good worker must keep
// answering throughout.
const fs = require('node:fs');
const { cluster, obs, safety, errInfo } = require('../helpers/observe');

const mode = process.argv[2];
safety(8000);

// Writes all of `buf` to the non-blocking channel fd, retrying while the primary catches up.
function writeAll(buf, done) {
  let off = 0;
  const step = () => {
    while (off < buf.length) {
      try {
        off += fs.writeSync(3, buf, off, Math.min(buf.length - off, 1 << 20));
      } catch (e) {
        if (e.code === 'EAGAIN') return setTimeout(step, 1);
        return done(e);
      }
    }
    done(null);
  };
  step();
}

const inputs = {
  garbage: () => Buffer.from('this is not json\n'),
  blank: () => Buffer.from('\n'),
  utf8: () => Buffer.from([0x22, 0xff, 0xfe, 0x22, 0x0a]),
  truncated_internal: () => Buffer.from('{"cmd":"NODE_CLUSTER","act":\n'),
  // 2 MiB without a newline against a 1 MiB limit.
  oversize: () => Buffer.alloc(2 << 20, 0x61),
  // Well-formed JSON with missing or wrong-typed fields: ignored or refused, never a crash.
  // (A forged NODE_HANDLE without a descriptor is left out: the primary's correct NACK trips an
  // assertion in the forging worker's own Node, which tells nothing about the primary.)
  bad_fields: () => Buffer.from([
    '{"cmd":"NODE_CLUSTER","act":"queryServer"}',
    '{"cmd":"NODE_CLUSTER","act":"queryServer","port":"x","addressType":{},"index":[],"seq":"s"}',
    '{"cmd":"NODE_CLUSTER","act":"close","key":5}',
    '{"cmd":"NODE_CLUSTER","act":"close"}',
    '{"cmd":"NODE_CLUSTER","ack":"x","accepted":1}',
    '{"cmd":"NODE_CLUSTER","act":7}',
    '{"cmd":"NODE_CLUSTER"}',
    '{"cmd":"NODE_HANDLE_ACK"}',
    '{"cmd":"NODE_SOMETHING_ELSE","x":1}',
    '',
  ].join('\n')),
};

if (cluster.isPrimary) {
  if (mode === 'oversize') cluster.setupPrimary({ maxMessageBytes: 1 << 20 });
  const bad = cluster.fork({ HOSTILE: mode });
  const good = cluster.fork({ HOSTILE: '' });
  let pongs = 0;
  let stopPinging = false;
  const ping = () => { if (!stopPinging && good.isConnected()) good.send('ping'); };
  // The good worker is let go only once it has answered 5 pings and the bad one has exited.
  let badGone = false;
  const maybeFinish = () => {
    if (badGone && pongs >= 5 && !stopPinging) {
      stopPinging = true;
      good.disconnect();
    }
  };
  good.on('message', (m) => {
    if (m === 'pong') pongs++;
    if (pongs === 5) obs('good worker answered 5 pings');
    maybeFinish();
    setTimeout(ping, 5);
  });
  good.on('online', ping);
  bad.on('error', (err) => obs('bad error', { err: errInfo(err), mentionsWorker: /worker 1/.test(err.message) }));
  bad.on('message', (m) => {
    obs('bad message', { m });
    if (m === 'still here') setTimeout(() => bad.disconnect(), 50);
  });
  bad.on('disconnect', () => obs('bad disconnect', { ead: bad.exitedAfterDisconnect }));
  bad.on('exit', (code, signal) => {
    obs('bad exit', { code, signal });
    badGone = true;
    maybeFinish();
  });
  good.on('exit', (code) => obs('good exit', { code, pongsAtLeast5: pongs >= 5 }));
} else if (process.env.HOSTILE) {
  process.on('message', () => {});
  writeAll(inputs[process.env.HOSTILE](), (err) => {
    if (err) return;
    // A worker that survived sending the input says so through the normal API.
    setTimeout(() => { if (process.connected) process.send('still here'); }, 100);
  });
} else {
  process.on('message', (m) => { if (m === 'ping') process.send('pong'); });
}
