'use strict';
// One message of SIZE MiB (default 64) in one direction:
//   json:      a string of SIZE MiB of ASCII (base64 of a fixed keystream);
//   advanced:  { buf: Buffer of SIZE MiB } (the keystream itself);
//   json-utf8: a string of about SIZE Mi UTF-16 units mixing 1- to 4-byte
//              UTF-8 characters, so that characters straddle read chunks.
// The receiver reports length and SHA-256; the sender reports send()'s return
// value and callback. The primary reports its peak RSS (VmHWM) in a
// 'measure' observation, which the test compares with a tolerance.
//   node large-transfer.js [json|advanced|json-utf8] [p2w|w2p] [SIZE]
const crypto = require('node:crypto');
const fs = require('node:fs');
const { cluster, obs, safety, errInfo } = require('../helpers/observe');

safety(45000);
const kind = process.argv[2] || 'json';
const mode = kind === 'advanced' ? 'advanced' : 'json';
const dir = process.argv[3] || 'p2w';
const SIZE = Number(process.argv[4] || 64) * 1024 * 1024;

function status(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

// The same bytes every run: AES-128-CTR keystream under a fixed key.
function payload() {
  const cipher = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 9));
  if (kind === 'advanced') {
    const buf = cipher.update(Buffer.alloc(SIZE));
    return { buf };
  }
  if (kind === 'json-utf8') {
    const ALPHABET = ['a', 'é', '✓', '😀', '\n', '"', '\u2028', 'ÿ'];
    const bytes = cipher.update(Buffer.alloc(SIZE / 2));
    const parts = [];
    for (let i = 0; i < bytes.length; i += 4096) {
      let piece = '';
      for (let j = i; j < i + 4096 && j < bytes.length; j++) piece += ALPHABET[bytes[j] & 7];
      parts.push(piece);
    }
    return parts.join('');
  }
  // base64 of 3/4 SIZE bytes is SIZE characters.
  return cipher.update(Buffer.alloc((SIZE / 4) * 3)).toString('base64');
}

function summarize(msg) {
  const data = mode === 'advanced' ? msg && msg.buf : msg;
  const isRightType = mode === 'advanced' ? Buffer.isBuffer(data) : typeof data === 'string';
  if (!isRightType) return { isRightType, type: typeof data };
  return { isRightType, length: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex') };
}

// Sends and records return value and callback.
function sendBig(send, msg) {
  return new Promise((resolve) => {
    let sync = true;
    const ret = send(msg, (err) => {
      obs('send callback', { err: errInfo(err), sync });
      resolve();
    });
    sync = false;
    obs('send returned', { ret });
  });
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: mode });
  const w = cluster.fork();
  let started;
  let hwmBefore;
  w.on('message', async (msg) => {
    if (msg === 'ready') {
      hwmBefore = status('VmHWM');
      started = Date.now();
      if (dir === 'p2w') {
        let big = payload();
        const expected = summarize(big);
        obs('expected', { length: expected.length, sha256: expected.sha256 });
        await sendBig((m, cb) => w.send(m, cb), big);
        big = null; // eslint-disable-line no-useless-assignment -- let the collector have it
      } else {
        w.send('send it');
      }
      return;
    }
    if (dir === 'p2w') {
      obs('worker got', msg);
    } else {
      obs('primary got', summarize(msg));
      msg = null; // eslint-disable-line no-useless-assignment -- let the collector have it
    }
    obs('measure', {
      kind, dir, size: SIZE, took: Date.now() - started,
      hwmBeforeKiB: hwmBefore, hwmKiB: status('VmHWM'), rssNowKiB: status('VmRSS'),
    });
    w.disconnect();
  });
  w.on('exit', (code, signal) => obs('exit', { code, signal }));
} else {
  process.on('message', async (msg) => {
    if (msg === 'send it') {
      const big = payload();
      const expected = summarize(big);
      obs('expected', { length: expected.length, sha256: expected.sha256 });
      await sendBig((m, cb) => process.send(m, cb), big);
      return;
    }
    process.send(summarize(msg));
  });
  process.send('ready');
}
