// Deliberately wrong (see misuse.ts): the ESM namespace has no fork, as for node:cluster.
import * as clusterNs from 'rust-cluster';

// expect: TS2339 (the namespace has no fork; it is clusterNs.default.fork)
clusterNs.fork();
