// Deliberately wrong: every statement after an "expect:" comment must be
// rejected by tsc with the named error code (checked by __test__/types.test.js).
import cluster from 'rust-cluster';

// expect: TS2322 (the default import is the Cluster, not a number)
const notANumber: number = cluster;

// expect: TS2554 (worker.send needs a message)
cluster.fork().send();

// expect: TS2322 (setupPrimary: exec must be a string)
cluster.setupPrimary({ exec: 42 });

cluster.on('exit', (worker, code, signal) => {
    // expect: TS2322 (the exit listener's code is a number)
    const s: string = code;
});

// expect: TS2540 (isPrimary is read-only)
cluster.isPrimary = false;
