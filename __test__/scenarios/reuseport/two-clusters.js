'use strict';
// A second cluster on the port of a first one: its worker's listen() fails with EADDRINUSE, as
// between two round-robin clusters. Under SCHED_REUSEPORT both clusters bind with SO_REUSEPORT,
// which the kernel would let share the port; the first socket of each is bound without it, so
// the second cluster meets the first as a plain bind would.
//   argv: [second <port>]
const path = require('node:path');
const { spawn } = require('node:child_process');
const { cluster, obs, safety } = require('../../helpers/observe');
const { applyPolicy, errFields, request } = require('../server/common');

const [role, portArg] = process.argv.slice(2);
safety(20000);

if (cluster.isPrimary) {
  applyPolicy(cluster, 'reuseport');
  const w = cluster.fork();
  if (role === 'second') {
    w.on('message', (m) => {
      process.stdout.write(JSON.stringify(m) + '\n');
      w.kill();
    });
  } else {
    w.on('message', async ({ port }) => {
      const second = spawn(process.execPath, [__filename, 'second', String(port)], {
        cwd: path.dirname(__filename), env: process.env, stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      second.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
      second.on('exit', async () => {
        const line = out.trim().split('\n').map((l) => JSON.parse(l)).find((m) => m.error || m.port);
        const error = line.error && { ...errFields(line.error, port), port: line.error.port === port ? '<port>' : line.error.port };
        obs('second cluster', error ? { error } : { listened: true });
        obs('first still answers', { answer: await request('http', port, { payload: 'x' }) });
        w.kill();
      });
    });
  }
} else {
  const server = require('node:http').createServer((req, res) => res.end(`W${cluster.worker.id}:${req.url.slice(1)}`));
  server.on('error', (err) => process.send({ error: { code: err.code, errno: err.errno, syscall: err.syscall, message: err.message, address: err.address, port: err.port } }));
  server.listen(portArg === undefined ? 0 : Number(portArg), () => process.send({ port: server.address().port }));
}
