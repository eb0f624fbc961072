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
//
// rust-cluster's own members (cluster.reload(), cluster.shutdown(),
// cluster.SCHED_REUSEPORT, worker.stats(), the 'respawn', 'respawnLimit' and
// 'memoryLimit' events) are
// declared by augmenting the Cluster and Worker interfaces of 'cluster', so that
// its object keeps node:cluster's type. In a project that installs
// rust-cluster they therefore appear on node:cluster's types too; only
// rust-cluster's object has them at run time.

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

    /** Options of `cluster.reload()`, also accepted as `setupPrimary({ reload })`. */
    export interface ReloadOptions {
        /** Workers replaced at a time. Default: 1. */
        concurrency?: number | undefined;
        /**
         * When a replacement is ready: `'listening'` (default), once it listens on every server
         * the old worker listened on (at `'online'` if it listened on none); `'message'`, once it
         * sends the message `'ready'` (`process.send('ready')`).
         */
        readiness?: 'listening' | 'message' | undefined;
        /** How long a replacement may take to be ready, in ms. Default: 10000. */
        readyTimeout?: number | undefined;
        /** How long a retired worker may take to exit before SIGKILL, in ms. Default: 10000. */
        shutdownTimeout?: number | undefined;
    }

    /** Options of `cluster.shutdown()`. */
    export interface ShutdownOptions {
        /** How long a worker may take to exit before SIGKILL, in ms. Default: 10000. */
        shutdownTimeout?: number | undefined;
    }

    /** `setupPrimary({ respawn })`: every field optional; `true` takes all the defaults. */
    export interface RespawnOptions {
        /** The first delay, in ms. Default: 100. */
        delay?: number | undefined;
        /** Each later delay is the previous one times this. Default: 2. */
        factor?: number | undefined;
        /** The longest delay, in ms. Default: 15000. */
        maxDelay?: number | undefined;
        /** A worker that stayed up this long (ms) starts its slot at `delay` again. Default: 30000. */
        resetAfter?: number | undefined;
        /** Respawns allowed within `window`; the next exit gives 'respawnLimit'. Default: 16. */
        maxRestarts?: number | undefined;
        /** In ms. Default: 60000. */
        window?: number | undefined;
    }

    /** `worker.stats()`. */
    export interface WorkerStats {
        pid: number;
        /** Since the fork, in ms. */
        uptime: number;
        /** CPU time, in microseconds. */
        cpu: { user: number; system: number };
        /** Resident set size, in bytes. */
        rss: number;
        /** Connections handed to the worker by round-robin so far. */
        connections: number;
    }

    /** The rejection of `cluster.reload()` when a replacement fails. */
    export interface ReloadError extends Error {
        code: 'ERR_RUST_CLUSTER_RELOAD';
        /** The old worker, which stays. */
        worker: import('cluster').Worker;
        /** The replacement, killed. */
        replacement: import('cluster').Worker;
        reason: 'exit' | 'timeout';
    }

    export interface SupervisionSettings {
        /** Replace workers that exit without being asked to, with backoff. Default: off. */
        respawn?: boolean | RespawnOptions | undefined;
        /** Replace a worker whose RSS stays above this many bytes (read each second). */
        memoryLimit?: number | undefined;
        /** Defaults for `cluster.reload()`, `cluster.shutdown()` and memory-limit replacements. */
        reload?: ReloadOptions | undefined;
        /**
         * Under `SCHED_REUSEPORT`: how long (ms) connections may wait on a worker's socket while
         * the worker accepts none of them, before the engine hands them to the other workers and
         * leaves that socket out of the kernel's choice for 5 times as long. 0 turns it off (a
         * departed worker's connections are handed on all the same). Default: 40.
         */
        rescueAfter?: number | undefined;
    }

}

declare module 'cluster' {
    import type {
        ReloadOptions, ShutdownOptions, SupervisionSettings, WorkerStats,
    } from 'rust-cluster';

    interface ClusterSettings extends SupervisionSettings {}

    interface Worker {
        /** rust-cluster: the worker's figures, from /proc and the engine; null once it exited. */
        stats(): WorkerStats | null;
    }

    interface Cluster {
        /**
         * rust-cluster: the scheduling policy (3) with one SO_REUSEPORT socket per worker: the
         * kernel spreads connections over the workers, and the engine hands on what waits on the
         * socket of a worker that left or stopped accepting. Set `cluster.schedulingPolicy` to
         * it (or `NODE_CLUSTER_SCHED_POLICY=reuseport`) before the first `fork()`. Unix-socket
         * servers and `listen({ fd })` keep round-robin.
         */
        readonly SCHED_REUSEPORT: number;
        /**
         * rust-cluster: replaces every live worker, `concurrency` at a time: a replacement is
         * forked with the same env, and once it is ready the old worker gets no new connection,
         * is disconnected, and is killed after `shutdownTimeout`. Rejects (`ReloadError`) at the
         * first replacement that exits or is not ready in time; the remaining workers stay.
         */
        reload(options?: ReloadOptions): Promise<void>;
        /** rust-cluster: takes every worker out of rotation, disconnects it, kills it after `shutdownTimeout`. */
        shutdown(options?: ShutdownOptions): Promise<void>;
        addListener(event: 'respawn', listener: (worker: Worker, oldWorker: Worker, delayMs: number) => void): this;
        addListener(event: 'respawnLimit', listener: (oldWorker: Worker) => void): this;
        addListener(event: 'memoryLimit', listener: (worker: Worker, rssBytes: number) => void): this;
        on(event: 'respawn', listener: (worker: Worker, oldWorker: Worker, delayMs: number) => void): this;
        on(event: 'respawnLimit', listener: (oldWorker: Worker) => void): this;
        on(event: 'memoryLimit', listener: (worker: Worker, rssBytes: number) => void): this;
        once(event: 'respawn', listener: (worker: Worker, oldWorker: Worker, delayMs: number) => void): this;
        once(event: 'respawnLimit', listener: (oldWorker: Worker) => void): this;
        once(event: 'memoryLimit', listener: (worker: Worker, rssBytes: number) => void): this;
        prependListener(event: 'respawn', listener: (worker: Worker, oldWorker: Worker, delayMs: number) => void): this;
        prependListener(event: 'respawnLimit', listener: (oldWorker: Worker) => void): this;
        prependListener(event: 'memoryLimit', listener: (worker: Worker, rssBytes: number) => void): this;
        prependOnceListener(
            event: 'respawn', listener: (worker: Worker, oldWorker: Worker, delayMs: number) => void,
        ): this;
        prependOnceListener(event: 'respawnLimit', listener: (oldWorker: Worker) => void): this;
        prependOnceListener(event: 'memoryLimit', listener: (worker: Worker, rssBytes: number) => void): this;
        emit(event: 'respawn', worker: Worker, oldWorker: Worker, delayMs: number): boolean;
        emit(event: 'respawnLimit', oldWorker: Worker): boolean;
        emit(event: 'memoryLimit', worker: Worker, rssBytes: number): boolean;
    }
}
