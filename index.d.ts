// Type declarations for rust-cluster.
//
// rust-cluster is a drop-in replacement for `node:cluster`, so its types are
// exactly the ones @types/node declares for `node:cluster`: Cluster, Worker,
// ClusterSettings, Address, every event overload and the legacy names
// (isMaster, setupMaster). Nothing is copied; the module below re-exports
// @types/node's declarations. What rust-cluster adds is declared inside the
// module block, after the re-exports.
//
// Why an ambient `declare module` rather than top-level exports:
// package.json has no "type": "module", so a file with top-level exports would
// be a CommonJS declaration file, and under module node16/nodenext an ES module
// doing `import cluster from 'rust-cluster'` would bind to the whole
// module.exports (the namespace) instead of the Cluster. @types/node declares
// 'cluster' / 'node:cluster' as ambient modules (named exports plus
// `export default cluster`, no `export =`), and TypeScript looks ambient
// modules up before files. Declaring 'rust-cluster' the same way gives
//   import cluster from 'rust-cluster'          (ESM and CJS)
//   import * as cluster from 'rust-cluster'
//   import cluster = require('rust-cluster')    / const cluster = require(...) in JS
// the very same types as the same form with 'node:cluster', under every
// module / moduleResolution setting (node10, node16, nodenext, bundler).
// __test__/types checks this.

/// <reference types="node" />

declare module 'rust-cluster' {
    export * from 'node:cluster';
    export { default } from 'node:cluster';
    import type { ClusterSettings } from 'node:cluster';

    /**
     * The settings rust-cluster understands beyond node:cluster's. They are read from
     * `cluster.settings` at each `fork()`, so pass them through `setupPrimary()`:
     * `cluster.setupPrimary(settings as RustClusterSettings)` keeps TypeScript's excess-property
     * check quiet.
     */
    export interface RustClusterSettings extends ClusterSettings {
        /**
         * The largest single message (in bytes) accepted from a worker. A worker that sends a
         * longer one is disconnected with an `'error'` event (`code: 'ERR_IPC_MALFORMED_MESSAGE'`).
         * Default: 536870888, the most a Node worker can send.
         */
        maxMessageBytes?: number | undefined;
    }
}
