// @ts-check
// Type test for `const cluster = require('rust-cluster')` in a JavaScript file
// (checkJs): the value has exactly the type `require('node:cluster')` has.
'use strict';

const cluster = require('rust-cluster');
const nodeCluster = require('node:cluster');
const { Worker } = require('rust-cluster');
const clusterDefault = require('rust-cluster').default;

/** @type {Equals<typeof cluster, typeof nodeCluster>} */
const sameModule = true;
/** @type {Equals<typeof Worker, typeof nodeCluster.Worker>} */
const sameWorker = true;
/** @type {Equals<typeof clusterDefault, import('node:cluster').Cluster>} */
const sameDefault = true;
/** @type {Equals<import('rust-cluster').ClusterSettings, import('node:cluster').ClusterSettings>} */
const sameSettings = true;
/** @type {Equals<typeof cluster, import('node:cluster').Cluster>} */
const notTheCluster = false;
void [sameModule, sameWorker, sameDefault, sameSettings, notTheCluster];

/** @param {import('rust-cluster').Worker} worker */
function watch(worker) {
    worker.on('exit', (code, signal) => {
        /** @type {Equals<[typeof code, typeof signal], [number, string]>} */
        const ok = true;
        void ok;
        // @ts-expect-error code is a number
        code.toUpperCase();
    });
}
void watch;

// @ts-expect-error as for node:cluster, the required module object has no fork
cluster.fork();
