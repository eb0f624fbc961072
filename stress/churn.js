'use strict';
// Churn under load: 8 HTTP workers; every 100 ms one is killed (SIGKILL) and replaced, for 30 s,
// while a client keeps making requests. Counts requests answered and failed, and kills.
const cluster = process.env.RC_IMPL === 'node' ? require('cluster') : require('..');
const http = require('http');

const WORKERS = 8;
const SECONDS = Number(process.env.CHURN_SECONDS || 30);

if (cluster.isWorker) {
  http.createServer((req, res) => res.end(String(cluster.worker.id))).listen(Number(process.env.PORT));
} else {
  const port = 20000 + (process.pid % 20000);
  process.env.PORT = String(port);
  let listening = 0;
  let kills = 0;
  let ok = 0;
  let failed = 0;
  const errors = {};
  let stop = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < WORKERS; i++) fork();
  cluster.on('exit', () => { if (!stop) fork(); });
  const agent = new http.Agent({ keepAlive: false, maxSockets: 8 });
  const request = () => {
    if (stop) return;
    http.get({ host: '127.0.0.1', port, agent }, (res) => {
      res.resume();
      res.on('end', () => { ok++; request(); });
    }).on('error', (err) => { failed++; errors[err.code] = (errors[err.code] || 0) + 1; setTimeout(request, 5); });
  };
  cluster.on('listening', () => {
    if (++listening !== WORKERS) return;
    for (let i = 0; i < 8; i++) request();
    const killer = setInterval(() => {
      const ids = Object.keys(cluster.workers).filter((id) => cluster.workers[id].state === 'listening');
      if (ids.length < 2) return;
      const victim = cluster.workers[ids[kills % ids.length]];
      kills++;
      victim.process.kill('SIGKILL');
    }, 100);
    setTimeout(() => {
      stop = true;
      clearInterval(killer);
      setTimeout(() => {
        console.log(JSON.stringify({ test: 'churn', seconds: SECONDS, kills, ok, failed, errors }));
        // Requests still waiting now were lost with a killed worker (the built-in can lose a
        // connection it handed to a worker as it died): drop them so that the process can end.
        agent.destroy();
        cluster.disconnect();
      }, 500);
    }, SECONDS * 1000);
  });
}
