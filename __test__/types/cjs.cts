// Type test for the CommonJS forms of rust-cluster in TypeScript (.cts,
// module nodenext): `import x = require(...)` and the default import (which
// nodenext compiles with esModuleInterop) have exactly the types the same
// forms have for 'node:cluster'. (A plain `const x = require(...)` is `any`
// in a TypeScript file; its typed form is checked in cjs-require.cjs.)

import cluster = require('rust-cluster');
import clusterDefault from 'rust-cluster';
import { Worker } from 'rust-cluster';

import nodeCluster = require('node:cluster');
import nodeDefault from 'node:cluster';

// `import = require` gives what @types/node gives for node:cluster: the module
// object, whose Cluster is `.default` and which carries the Worker class.
expectExact<typeof cluster, typeof nodeCluster>(true);
expectExact<typeof cluster.default, nodeCluster.Cluster>(true);
expectExact<typeof cluster.Worker, typeof nodeCluster.Worker>(true);
expectExact<cluster.ClusterSettings, nodeCluster.ClusterSettings>(true);
expectExact<cluster.Address, nodeCluster.Address>(true);
expectExact<cluster.Worker, nodeCluster.Worker>(true);
// The default import is the Cluster.
expectExact<typeof clusterDefault, typeof nodeDefault>(true);
expectExact<typeof clusterDefault, cluster.Cluster>(true);
expectExact<typeof Worker, typeof nodeCluster.Worker>(true);

if (clusterDefault.isPrimary) {
    const worker: cluster.Worker = clusterDefault.fork();
    worker.on('message', (message, handle) => void [message, handle]);
    worker.send({ hello: 'worker' }, (error) => expectExact<typeof error, Error | null>(true));
    clusterDefault.setupMaster({ exec: __filename, args: ['--child'] });
} else {
    const me = clusterDefault.worker;
    me?.disconnect();
}

// @ts-expect-error as for node:cluster, the required module object has no fork
cluster.fork();
// @ts-expect-error as for node:cluster, the required module object has no isPrimary
cluster.isPrimary;
// @ts-expect-error setupPrimary rejects unknown options
clusterDefault.setupPrimary({ nope: 1 });
// @ts-expect-error kill takes a signal name
clusterDefault.fork().kill(9);
