'use strict';
// The primary's JS thread is blocked for BLOCK_MS; during the block a worker starts listening
// (its queryServer and listening messages reach a primary that runs no JavaScript) and sends
// 200 numbered messages. A client in another process keeps requesting the port. Reports when
// the first request was answered (relative to the block's end), and whether the messages all
// arrived, in order, after the block.
const path = require('node:path');
const { spawn } = require('node:child_process');
const { cluster, obs, safety } = require('../../helpers/observe');
const { makeServer, freePort } = require('./common');

const BLOCK_MS = 2000;
safety(15000);

if (cluster.isPrimary) {
  (async () => {
    const port = await freePort();
    const w = cluster.fork({ RC_PORT: String(port) });
    const got = [];
    w.on('message', (m) => got.push(m.n));
    await new Promise((resolve) => w.once('online', resolve));
    const client = spawn(process.execPath, [path.join(__dirname, 'client.js'), 'sequential', String(port), String(BLOCK_MS + 1000), '6000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    const requests = new Promise((resolve) => {
      client.stdout.setEncoding('utf8').on('data', (d) => {
        buf += d;
        for (const line of buf.split('\n').slice(0, -1)) {
          const msg = JSON.parse(line);
          if (msg.requests) resolve(msg.requests);
        }
        buf = buf.slice(buf.lastIndexOf('\n') + 1);
      });
    });
    w.send('go');
    const start = Date.now();
    while (Date.now() - start < BLOCK_MS) { /* busy */ }
    const end = Date.now();
    const done = await requests;
    const ok = done.filter((r) => r.ok);
    const firstAnswer = ok.length ? Math.min(...ok.map((r) => r.end)) : null;
    await new Promise((resolve) => setTimeout(resolve, 200));
    obs('result', {
      blockedFor: end - start,
      answeredInBlock: ok.filter((r) => r.end <= end).length,
      firstAnswerBeforeBlockEnd: firstAnswer === null ? null : end - firstAnswer,
      messages: got.length,
      inOrder: got.every((n, i) => n === i),
    });
    cluster.disconnect();
  })();
} else {
  process.on('message', () => {
    setTimeout(() => {
      makeServer('http', `W${cluster.worker.id}`).listen(Number(process.env.RC_PORT), '127.0.0.1');
      for (let n = 0; n < 200; n++) process.send({ n });
    }, 300);
  });
}
