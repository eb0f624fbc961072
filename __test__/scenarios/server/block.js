'use strict';
// The primary's JS thread is blocked in a busy loop for BLOCK_MS while a
// client in another process makes sequential HTTP requests to two workers
// (round robin). Reports how many requests started during the block and how
// many of those were answered before it ended. rust-cluster hands the
// connections over off the JS thread, Node's primary cannot.
const path = require('node:path');
const { spawn } = require('node:child_process');
const { cluster, obs, safety } = require('../../helpers/observe');
const { makeServer } = require('./common');

const BLOCK_MS = 2000;
safety(15000);

if (cluster.isPrimary) {
  const workers = [cluster.fork(), cluster.fork()];
  let listening = 0;
  cluster.on('listening', (w, addr) => {
    if (++listening === workers.length) start(addr.port);
  });

  function start(port) {
    const client = spawn(process.execPath, [path.join(__dirname, 'client.js'), 'sequential', String(port), String(BLOCK_MS + 1500), '6000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    let block;
    client.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (msg.started) {
          // Let the client get going, then block.
          setTimeout(() => {
            const blockStart = Date.now();
            while (Date.now() - blockStart < BLOCK_MS) { /* busy */ }
            block = { start: blockStart, end: Date.now() };
          }, 200);
        }
        if (msg.requests) report(msg.requests, block);
      }
    });
  }

  function report(requests, block) {
    // Requests that started while the primary was blocked (leaving out the
    // last 100 ms, whose answers may legitimately come after the block).
    const inBlock = requests.filter((r) => r.start >= block.start && r.start < block.end - 100);
    const answeredInBlock = inBlock.filter((r) => r.ok && r.end <= block.end);
    obs('result', {
      total: requests.length,
      failed: requests.filter((r) => !r.ok).map((r) => r.err),
      blockedFor: block.end - block.start,
      startedInBlock: inBlock.length,
      answeredInBlock: answeredInBlock.length,
      worstLatencyInBlock: inBlock.reduce((m, r) => Math.max(m, r.end - r.start), 0),
    });
    cluster.disconnect();
  }
} else {
  makeServer('http', `W${cluster.worker.id}`).listen(0);
}
