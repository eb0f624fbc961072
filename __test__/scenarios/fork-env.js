'use strict';
// fork([env]): the worker environment is the primary's process.env overlaid
// with `env`; NODE_UNIQUE_ID cannot be overridden and is gone from the
// worker's process.env (but still in /proc/self/environ). Ids go 1..n and
// are never reused, also after workers have gone.
const fs = require('node:fs');
const { once } = require('node:events');
const { cluster, obs, safety } = require('../helpers/observe');

safety();

const NAMES = ['RC_FROM_PRIMARY', 'RC_OVERRIDE', 'RC_REMOVED', 'RC_EXTRA', 'RC_NUMBER', 'RC_EMPTY'];

if (cluster.isPrimary) {
  process.env.RC_FROM_PRIMARY = 'p';
  process.env.RC_OVERRIDE = 'from primary';
  process.env.RC_REMOVED = 'from primary';

  // Fork, wait until the worker has reported, return it.
  async function forkAndWait(env, label) {
    const w = env === undefined ? cluster.fork() : cluster.fork(env);
    obs('forked', { label, id: w.id, workers: Object.keys(cluster.workers) });
    const [msg] = await once(w, 'message');
    obs('reported', { label, id: w.id, msg });
    return w;
  }
  async function disconnectAndWait(...workers) {
    const exited = workers.map((w) => once(w, 'exit'));
    for (const w of workers) w.disconnect();
    await Promise.all(exited);
    obs('gone', { ids: workers.map((w) => w.id), workers: Object.keys(cluster.workers) });
  }

  (async () => {
    const w1 = await forkAndWait({
      RC_EXTRA: 'x', RC_OVERRIDE: 'from fork', RC_NUMBER: 5, RC_EMPTY: '', RC_REMOVED: undefined,
      NODE_UNIQUE_ID: '999',
    }, 'with env');
    obs('primary env untouched', {
      RC_EXTRA: process.env.RC_EXTRA, RC_OVERRIDE: process.env.RC_OVERRIDE,
      NODE_UNIQUE_ID: process.env.NODE_UNIQUE_ID,
    });
    await disconnectAndWait(w1);
    const w2 = await forkAndWait(undefined, 'no env');
    const w3 = await forkAndWait({}, 'empty env');
    obs('two alive', { workers: Object.keys(cluster.workers) });
    await disconnectAndWait(w2, w3);
    const w4 = await forkAndWait({ RC_EXTRA: 'y' }, 'after all gone');
    await disconnectAndWait(w4);
  })();
} else {
  const environ = fs.readFileSync('/proc/self/environ', 'utf8').split('\0');
  const fromEnviron = (name) => environ.filter((e) => e.startsWith(name + '=')).map((e) => e.slice(name.length + 1));
  obs('env', {
    id: cluster.worker.id,
    env: Object.fromEntries(NAMES.map((n) => [n, process.env[n]])),
    inProcessEnv: ['NODE_UNIQUE_ID', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE'].filter((n) => n in process.env),
    environ: {
      NODE_UNIQUE_ID: fromEnviron('NODE_UNIQUE_ID'),
      NODE_CHANNEL_FD: fromEnviron('NODE_CHANNEL_FD'),
      NODE_CHANNEL_SERIALIZATION_MODE: fromEnviron('NODE_CHANNEL_SERIALIZATION_MODE'),
    },
  });
  process.send(`worker ${cluster.worker.id} reported`);
}
