'use strict';
// Server sharing with serialization 'advanced' (cluster's own messages are
// then V8-framed, queryServer carries undefined fields): two workers listen
// on a TCP server (port 0, shared), an HTTP server (port 0, second index)
// and a UDP socket; clients reach them; workers report with a Map.
// Run with NODE_CLUSTER_SCHED_POLICY=rr or none.
//   node serial/share.js [advanced|json]
const dgram = require('node:dgram');
const http = require('node:http');
const net = require('node:net');
const { cluster, obs, safety, errInfo } = require('../../helpers/observe');

safety(10000);
const mode = process.argv[2] || 'advanced';

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: mode });
  obs('policy', { rr: cluster.schedulingPolicy === cluster.SCHED_RR });
  const reports = new Map();
  let bothReady;
  const ready = new Promise((resolve) => { bothReady = resolve; });
  cluster.on('listening', (worker, address) => {
    obs('listening', { lane: `w${worker.id}`, address });
  });
  cluster.on('message', (worker, msg) => {
    if (!(msg instanceof Map)) {
      obs('unexpected message', { lane: `w${worker.id}`, isMap: false, type: typeof msg, msg: mode === 'json' ? msg : '<not a Map>' });
      if (mode !== 'json') return;
    }
    reports.set(worker.id, msg instanceof Map ? msg : new Map(Object.entries(msg)));
    if (reports.size === 2) bothReady();
  });
  cluster.fork();
  cluster.fork();

  const get = (port) => new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve(body));
    }).on('error', (err) => resolve(`error ${err.code}`));
  });
  const tcp = (port) => new Promise((resolve) => {
    let body = '';
    net.connect(port, '127.0.0.1').setEncoding('utf8')
      .on('data', (d) => { body += d; }).on('end', () => resolve(body)).on('error', (err) => resolve(`error ${err.code}`));
  });
  const udp = (port) => new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => { s.close(); resolve('<no answer>'); }, 2000);
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(String(m)); });
    s.send('ping', port, '127.0.0.1');
  });

  ready.then(async () => {
    const [a, b] = [reports.get(1), reports.get(2)];
    obs('reports', {
      isMap: a instanceof Map && b instanceof Map,
      keys: [...a.keys()],
      sameTcpPort: a.get('tcp') === b.get('tcp'),
      sameHttpPort: a.get('http') === b.get('http'),
      sameUdpPort: a.get('udp') === b.get('udp'),
      httpDiffersFromTcp: a.get('http') !== a.get('tcp'),
      nested: a.get('nested') && { set: a.get('nested') instanceof Set, big: typeof [...a.get('nested')][0] },
    });
    const answers = { tcp: [], http: [], udp: [] };
    for (let i = 0; i < 4; i++) answers.tcp.push(await tcp(a.get('tcp')));
    for (let i = 0; i < 4; i++) answers.http.push(await get(a.get('http')));
    for (let i = 0; i < 2; i++) answers.udp.push(await udp(a.get('udp')));
    obs('answers', {
      tcp: answers.tcp.every((s) => /^worker [12] tcp$/.test(s)),
      http: answers.http.every((s) => /^worker [12] http$/.test(s)),
      udp: answers.udp.every((s) => /^worker [12] udp$/.test(s)),
      sample: answers.tcp.concat(answers.http, answers.udp).map((s) => s.replace(/[12]/, 'N')),
    });
    cluster.disconnect(() => obs('cluster.disconnect callback'));
  });
  cluster.on('exit', (worker, code, signal) => obs('exit', { lane: `w${worker.id}`, code, signal }));
} else {
  const id = cluster.worker.id;
  const tcpServer = net.createServer((c) => c.end(`worker ${id} tcp`));
  const httpServer = http.createServer((req, res) => res.end(`worker ${id} http`));
  const udpSocket = dgram.createSocket('udp4');
  udpSocket.on('message', (m, rinfo) => udpSocket.send(`worker ${id} udp`, rinfo.port, rinfo.address));
  for (const s of [tcpServer, httpServer, udpSocket]) s.on('error', (err) => obs('server error', errInfo(err)));
  tcpServer.listen(0, '127.0.0.1', () => {
    httpServer.listen(0, '127.0.0.1', () => {
      udpSocket.bind(0, '127.0.0.1', () => {
        const report = new Map([
          ['tcp', tcpServer.address().port],
          ['http', httpServer.address().port],
          ['udp', udpSocket.address().port],
          ['nested', new Set([10n ** 20n])],
        ]);
        if (mode === 'json') report.delete('nested');
        process.send(mode === 'json' ? Object.fromEntries(report) : report);
      });
    });
  });
}
