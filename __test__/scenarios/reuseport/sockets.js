'use strict';
// SCHED_REUSEPORT's sockets: N workers listen(0) (TCP) or bind(0) (UDP); they share one port,
// on which there are N sockets, one held by each worker and all of them by the primary; the
// kernel spreads new connections (datagrams from new ports) over the workers.
//   argv: <tcp|udp> <workers> <property|env>
//   property: cluster.schedulingPolicy = cluster.SCHED_REUSEPORT before the first fork;
//   env: NODE_CLUSTER_SCHED_POLICY=reuseport (set by the test).
const dgram = require('node:dgram');
const { cluster, obs, safety } = require('../../helpers/observe');
const { makeServer, request } = require('../server/common');
const { portSockets, heldOn } = require('./common');

const [kind, nArg, how] = process.argv.slice(2);
const n = Number(nArg);
safety(20000);

if (cluster.isPrimary) {
  if (how === 'property') cluster.schedulingPolicy = cluster.SCHED_REUSEPORT;
  obs('policy', {
    schedulingPolicy: cluster.schedulingPolicy,
    constant: cluster.SCHED_REUSEPORT,
    enumerable: Object.keys(cluster).includes('SCHED_REUSEPORT'),
  });
  const workers = [];
  const ready = [];
  for (let i = 0; i < n; i++) {
    const w = cluster.fork();
    workers.push(w);
    ready.push(new Promise((resolve) => w.once('message', resolve)));
  }
  (async () => {
    const reports = await Promise.all(ready);
    const ports = [...new Set(reports.map((r) => r.port))];
    const port = ports[0];
    const sockets = portSockets(kind, port);
    const mine = heldOn(kind, port);
    const workerSockets = reports.map((r) => r.held);
    obs('sockets', {
      samePort: ports.length === 1,
      socketsOnIt: sockets.length,
      eachWorkerOne: workerSockets.every((h) => h.length === 1),
      distinct: new Set(workerSockets.flat()).size,
      primaryHoldsEvery: workerSockets.flat().every((i) => mine.includes(i)),
    });
    const answers = [];
    for (let i = 0; i < 12 * n; i++) {
      answers.push(await request(kind === 'udp' ? 'udp' : 'http', port, { payload: `r${i}`, timeoutMs: 3000 }));
    }
    obs('requests', {
      answered: answers.filter((a) => typeof a === 'string').length,
      of: answers.length,
      workersAnswering: new Set(answers.filter((a) => typeof a === 'string').map((a) => a.split(':')[0])).size,
    });
    cluster.disconnect(() => obs('disconnected'));
  })();
} else {
  const who = `W${cluster.worker.id}`;
  const server = makeServer(kind === 'udp' ? 'udp' : 'http', who);
  const report = () => {
    const { port } = server.address();
    process.send({ port, held: heldOn(kind, port) });
  };
  if (server instanceof dgram.Socket) server.bind(0, '127.0.0.1', report);
  else server.listen(0, '127.0.0.1', report);
}
