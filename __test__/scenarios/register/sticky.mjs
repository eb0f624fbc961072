// Under `node --import rust-cluster/register`: @socket.io/sticky, which imports 'cluster'
// itself, in an ES module app that imports node:cluster. The primary's HTTP server reads each
// connection's first request and passes the socket to the worker that holds its session
// (advanced serialization, as sticky requires); socket.io clients on HTTP long-polling must
// reach the same worker on every request. Prints one JSON line.
import cluster from 'node:cluster';
import http from 'node:http';
import { createRequire } from 'node:module';
import { setupMaster, setupWorker } from '@socket.io/sticky';

const require = createRequire(import.meta.url);

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: 'advanced' });
  const httpServer = http.createServer();
  setupMaster(httpServer, { loadBalancingMethod: 'least-connection' });
  const workers = [cluster.fork(), cluster.fork()];
  let online = 0;
  cluster.on('online', () => {
    if (++online < 2) return;
    httpServer.listen(0, '127.0.0.1', async () => {
      const { io } = require('socket.io-client');
      const url = `http://127.0.0.1:${httpServer.address().port}`;
      // One after the other, so that least-connection sends the second to the other worker.
      const clients = [];
      for (let k = 0; k < 2; k++) {
        const c = io(url, { transports: ['polling'], reconnection: false });
        await new Promise((resolve, reject) => { c.on('connect', resolve); c.on('connect_error', reject); });
        await c.timeout(5000).emitWithAck('whoami');
        clients.push(c);
      }
      const answers = await Promise.all(clients.map(async (c) => {
        const pids = [];
        for (let i = 0; i < 5; i++) pids.push(await c.timeout(5000).emitWithAck('whoami'));
        c.close();
        return pids;
      }));
      console.log(JSON.stringify({
        rustCluster: typeof cluster.reload === 'function',
        sticky: answers.map((pids) => new Set(pids).size === 1),
        spread: new Set(answers.map((pids) => pids[0])).size,
      }));
      httpServer.close();
      for (const w of workers) w.disconnect();
    });
  });
} else {
  const { Server } = require('socket.io');
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  setupWorker(io);
  io.on('connection', (socket) => socket.on('whoami', (ack) => ack(process.pid)));
}
