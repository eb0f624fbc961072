'use strict';
// Reload under load, rust-cluster's side: the scenario of pm2.js with rust-cluster as the
// primary. The same app.js on a free loopback port, `-i` workers, the same load, `reloads`
// cluster.reload() calls in a row (each awaited), the load kept 1 s more; one JSON line in
// pm2.js's format. shutdownTimeout defaults to 1600 ms, PM2's default kill_timeout (how long PM2
// would wait before SIGKILL). With this app PM2 never waits that long: its SIGINT ends the old
// worker at once, while rust-cluster drains it, disconnects it and kills it only at the timeout.
//
//   node bench/reload/rust-cluster.js [--reloads=3] [--instances=2] [--wait-ready] [--shutdown-timeout=1600]

const net = require('node:net');
const path = require('node:path');
const { parseArgs } = require('node:util');
const cluster = require('../../index.js');
const { startLoad } = require('../../__test__/helpers/load');
const { resultLine } = require('./result');

const TAIL_MS = 1000;

function options() {
  const { values } = parseArgs({
    options: {
      reloads: { type: 'string', default: '3' },
      instances: { type: 'string', default: '2' },
      'wait-ready': { type: 'boolean', default: false },
      'shutdown-timeout': { type: 'string', default: '1600' },
    },
  });
  const int = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`rust-cluster bench: --${name} must be a positive integer, not ${values[name]}`);
      process.exit(2);
    }
    return n;
  };
  return {
    reloads: int('reloads'), instances: int('instances'), waitReady: values['wait-ready'],
    shutdownTimeout: int('shutdown-timeout'),
  };
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function main() {
  let opts;
  try {
    opts = options();
  } catch (err) {
    console.error(`rust-cluster bench: ${err.message}`);
    process.exit(2);
  }
  setTimeout(() => {
    console.error('rust-cluster bench: watchdog: still running after 120 s');
    process.exit(1);
  }, 120000).unref();
  const port = await freePort();
  cluster.setupPrimary({ exec: path.join(__dirname, 'app.js') });
  const env = { PORT: String(port), READY_MESSAGE: opts.waitReady ? '1' : '' };
  await new Promise((resolve) => {
    let n = 0;
    cluster.on('listening', function onListening() {
      if (++n === opts.instances) {
        cluster.off('listening', onListening);
        resolve();
      }
    });
    for (let i = 0; i < opts.instances; i++) cluster.fork(env);
  });
  const t0 = Date.now();
  const load = startLoad({ port, fresh: 4, keepAlive: 4 });
  const reloadMs = [];
  const readiness = opts.waitReady ? 'message' : 'listening';
  for (let i = 0; i < opts.reloads; i++) {
    const start = Date.now();
    await cluster.reload({ readiness, shutdownTimeout: opts.shutdownTimeout });
    reloadMs.push(Date.now() - start);
  }
  await new Promise((resolve) => setTimeout(resolve, TAIL_MS));
  const report = await load.stop();
  const durationMs = Date.now() - t0;
  await cluster.shutdown({ shutdownTimeout: opts.shutdownTimeout });
  console.log(resultLine({
    manager: 'rust-cluster', version: require('../../package.json').version, instances: opts.instances,
    reloads: opts.reloads, report, durationMs, reloadMs,
  }));
}

main();
