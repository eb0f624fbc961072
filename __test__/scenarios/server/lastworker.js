'use strict';
// The only worker of a round-robin server stops reading its channel and is
// then killed with SIGKILL while three connections wait: one handed to it
// (in flight, never answered) and two queued in the primary. With the last
// worker gone the primary closes the queued connections and the listening
// socket (docs/PROTOCOL.md §4.5); Node leaks the one in flight, whose client
// hangs (docs/PROTOCOL.md §8.13). rust-cluster closes it too.
const net = require('node:net');
const { cluster, obs, safety } = require('../../helpers/observe');

safety(15000);

if (cluster.isPrimary) {
  const w = cluster.fork();
  let port;
  cluster.on('listening', (_, addr) => {
    port = addr.port;
    w.send('block');
  });
  w.on('message', async () => {
    const outcome = (s) => new Promise((resolve) => {
      const timer = setTimeout(() => { s.destroy(); resolve('TIMEOUT'); }, 2500);
      s.on('end', () => { clearTimeout(timer); s.destroy(); resolve('closed'); });
      s.on('error', (e) => { clearTimeout(timer); resolve(e.code === 'ECONNRESET' ? 'closed' : e.code); });
      s.resume();
    });
    const clients = [0, 1, 2].map(() => {
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write('hello\n'));
      return outcome(s);
    });
    setTimeout(() => process.kill(w.process.pid, 'SIGKILL'), 300);
    const results = (await Promise.all(clients)).sort();
    const late = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('connect', () => { s.destroy(); resolve('connected'); });
      s.on('error', (e) => resolve(e.code));
    });
    obs('result', { results, newConnection: late });
  });
} else {
  net.createServer((s) => s.end('x')).listen(0);
  process.on('message', () => {
    process.send('blocking', () => {
      const end = Date.now() + 10000;
      while (Date.now() < end) { /* stop reading the channel until killed */ }
    });
  });
}
