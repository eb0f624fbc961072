'use strict';
// Keys and the shared port across close and listen again (docs/PROTOCOL.md §4.4):
// W1 and W2 listen(0) and share port A. W1 closes and listens(0) again:
// its index starts over at 0, so it rejoins the handle W2 still holds and
// gets A again. A second server in W1 meanwhile gets index 1 and another
// port. Then both close; a new listen(0) in W1 finds no handle and gets a
// port that is (almost surely) not A.
//   argv: <policy> (rr | none)
const net = require('node:net');
const { cluster, obs, safety } = require('../../helpers/observe');
const { applyPolicy, request } = require('./common');

const [policy = 'rr'] = process.argv.slice(2);
safety(20000);

if (cluster.isPrimary) {
  applyPolicy(cluster, policy);
  const inbox = new Map();
  const ask = (w, cmd) => new Promise((resolve) => { inbox.set(w.id, resolve); w.send(cmd); });
  const w1 = cluster.fork();
  const w2 = cluster.fork();
  for (const w of [w1, w2]) w.on('message', (m) => { const r = inbox.get(w.id); inbox.delete(w.id); if (r) r(m); });
  cluster.on('listening', (w, addr) => obs('C.listening', { lane: `w${w.id}`, addressType: addr.addressType }));
  let online = 0;
  cluster.on('online', () => { if (++online === 2) main(); });
  const whoAnswers = async (port, k) => {
    const out = [];
    for (let i = 0; i < k; i++) { const a = await request('tcp', port); out.push(typeof a === 'string' ? a.split(':')[0] : a); }
    return [...new Set(out.map(String))].sort();
  };
  async function main() {
    const [a1, a2] = await Promise.all([ask(w1, 'listen a'), ask(w2, 'listen a')]);
    const A = a1.port;
    obs('both listen(0)', { samePort: a1.port === a2.port });
    await ask(w1, 'close a');
    const again = await ask(w1, 'listen a');
    obs('W1 listens again while W2 holds A', { samePortAsBefore: again.port === A });
    const b = await ask(w1, 'listen b');
    obs('second server in W1', { differentPort: b.port !== A });
    obs('A answered by', { rr: policy === 'rr' ? await whoAnswers(A, 6) : '<kernel>', b: await whoAnswers(b.port, 2) });
    await ask(w1, 'close a');
    await ask(w2, 'close a');
    obs('A after both closed', { result: await request('tcp', A) });
    const c = await ask(w1, 'listen a');
    obs('W1 listen(0) after the handle is gone', { samePortAsBefore: c.port === A, differentFromB: c.port !== b.port });
    obs('new port answered by', { who: await whoAnswers(c.port, 2) });
    cluster.disconnect(() => obs('disconnect callback'));
  }
} else {
  const me = `W${cluster.worker.id}`;
  const servers = {};
  const make = () => net.createServer((s) => { s.on('error', () => {}); s.on('data', () => s.end(`${me}:x\n`)); });
  process.on('message', (m) => {
    const [cmd, name] = m.split(' ');
    if (cmd === 'listen') {
      const s = make();
      servers[name] = s;
      s.on('error', (err) => process.send({ error: err.code }));
      s.listen(0, () => process.send({ port: s.address().port }));
    } else if (cmd === 'close') {
      servers[name].close(() => process.send({ closed: name }));
    }
  });
}
