'use strict';
// A worker that sends messages as fast as it can while the primary's JavaScript is slow to take
// them, next to a worker answering pings. Prints whether the pings were answered and the
// primary's peak RSS.
const fs = require('node:fs');
const { cluster, obs } = require('../helpers/observe');

const SECONDS = 3;
if (cluster.isPrimary) {
  const flood = cluster.fork({ ROLE: 'flood' });
  const good = cluster.fork({ ROLE: 'good' });
  let floodMessages = 0;
  flood.on('message', () => {
    // Slow JavaScript: 30 ms of work every 5,000 messages.
    if (++floodMessages % 5000 === 0) { const end = Date.now() + 30; while (Date.now() < end); }
  });
  let pongs = 0;
  good.on('message', () => { pongs++; });
  const pinger = setInterval(() => good.send('ping'), 10);
  setTimeout(() => {
    clearInterval(pinger);
    const hwm = Number(fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)[1]);
    obs('result', { floodMessages, pongs, peakRssMiB: Math.round(hwm / 1024) });
    flood.process.kill('SIGKILL');
    good.disconnect();
  }, SECONDS * 1000);
} else if (process.env.ROLE === 'flood') {
  const payload = 'x'.repeat(1000);
  const burst = () => {
    for (let i = 0; i < 2000; i++) process.send(payload);
    setImmediate(burst);
  };
  burst();
} else {
  process.on('message', () => process.send('pong'));
}
