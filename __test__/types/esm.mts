// Type test for the ES module import forms of rust-cluster: the default
// import and the namespace import have exactly the types the same forms have
// for 'node:cluster'. Compiled as an ES module (.mts) under module nodenext.

import cluster from 'rust-cluster';
import * as clusterNs from 'rust-cluster';
import { Worker } from 'rust-cluster';
import type { Address, Cluster, ClusterSettings } from 'rust-cluster';

import nodeCluster from 'node:cluster';
import * as nodeNs from 'node:cluster';
import { Worker as NodeWorker } from 'node:cluster';

// Default import: the Cluster object.
expectExact<typeof cluster, typeof nodeCluster>(true);
expectExact<typeof cluster, Cluster>(true);
// Namespace import: the module namespace (Worker, default and the types).
expectExact<typeof clusterNs, typeof nodeNs>(true);
expectExact<typeof clusterNs.default, Cluster>(true);
expectExact<typeof Worker, typeof NodeWorker>(true);
expectExact<typeof clusterNs.Worker, typeof NodeWorker>(true);
expectExact<ClusterSettings, nodeNs.ClusterSettings>(true);
expectExact<Address, nodeNs.Address>(true);
// The default import is not the namespace (and vice versa).
expectExact<typeof cluster, typeof clusterNs>(false);

if (cluster.isPrimary) {
    const worker: Worker = cluster.fork({ ROLE: 'esm' });
    worker.on('online', () => worker.send('hello'));
    worker.on('exit', (code, signal) => expectExact<[typeof code, typeof signal], [number, string]>(true));
    cluster.on('listening', (w, address) => expectExact<[typeof w, typeof address], [Worker, Address]>(true));
    cluster.setupPrimary({ exec: 'worker.mjs', silent: true });
    cluster.disconnect(() => {});
} else {
    const me = cluster.worker;
    expectExact<typeof me, Worker | undefined>(true);
}

// Through the namespace, the Cluster lives under .default, as for node:cluster.
const viaNs: boolean = clusterNs.default.isPrimary;
void viaNs;
// @ts-expect-error the namespace has no fork (it is on .default), as for node:cluster
clusterNs.fork();
// @ts-expect-error the default import is the Cluster, which has no .default
cluster.default;
// @ts-expect-error isPrimary is read-only
cluster.isPrimary = true;
cluster.on('exit', (worker, code) => {
    // @ts-expect-error code is a number
    const s: string = code;
});
// @ts-expect-error send needs a message
cluster.fork().send();
