'use strict';
// COUNT short TCP connections through round robin (two workers), made by a
// client in another process; the primary counts its own open descriptors
// (/proc/self/fd) before and after. Nothing of the connections may stay
// open in the primary.
//   argv: [count] (default 10000)
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { cluster, obs, safety } = require('../../helpers/observe');
const { makeServer, sleep } = require('./common');

const COUNT = Number(process.argv[2] || 10000);
safety(40000);

const fdCount = () => fs.readdirSync('/proc/self/fd').length;

if (cluster.isPrimary) {
  const workers = [cluster.fork(), cluster.fork()];
  let listening = 0;
  cluster.on('listening', (w, addr) => {
    if (++listening === workers.length) run(addr.port);
  });

  async function run(port) {
    // Warm-up: the first child_process.spawn() with an 'ignore' stdio opens
    // a /dev/null descriptor that libuv keeps for good; do not count it.
    await new Promise((resolve) => spawn(process.execPath, ['-e', ''], { stdio: ['ignore', 'pipe', 'inherit'] }).on('close', resolve));
    await sleep(200);
    const before = fdCount();
    const t0 = Date.now();
    const client = spawn(process.execPath, [path.join(__dirname, 'client.js'), 'many', String(port), String(COUNT), '16', '5000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, fdCount()); }, 50);
    client.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    client.on('close', async () => {
      clearInterval(sampler);
      const result = JSON.parse(out.trim().split('\n').pop());
      // Give the last hand-offs a moment to finish; stop as soon as it is back.
      let after = fdCount();
      for (let i = 0; i < 20 && after !== before; i++) {
        await sleep(50);
        after = fdCount();
      }
      obs('result', { count: COUNT, ...result, fdsBefore: before, fdsAfter: after, fdsPeak: peak, elapsed: Date.now() - t0 });
      cluster.disconnect();
    });
  }
} else {
  makeServer('tcp', `W${cluster.worker.id}`).listen(0);
}
