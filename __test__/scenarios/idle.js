'use strict';
// An idle primary sleeps: two workers online, one message each way, then 2 s of nothing. Reports
// how many times the primary's threads were switched in over those 2 s (voluntary and
// involuntary context switches of every thread, /proc/self/task/*/status).
const fs = require('node:fs');
const { cluster, obs, safety } = require('../helpers/observe');

safety(15000);

function switches() {
  let n = 0;
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      const s = fs.readFileSync(`/proc/self/task/${t}/status`, 'utf8');
      n += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(s)[1]) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(s)[1]);
    } catch { /* the thread ended */ }
  }
  return n;
}

if (cluster.isPrimary) {
  let answered = 0;
  for (let i = 0; i < 2; i++) {
    const w = cluster.fork();
    w.on('online', () => w.send('ping'));
    w.on('message', () => {
      if (++answered < 2) return;
      setTimeout(() => {
        const before = switches();
        setTimeout(() => {
          obs('result', { switchesIn2s: switches() - before });
          cluster.disconnect();
        }, 2000);
      }, 300);
    });
  }
} else {
  process.on('message', (m) => process.send(m));
}
