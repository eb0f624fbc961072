// Type test: every API of the primary and of the worker, as typed by
// rust-cluster, with the exact types @types/node gives `node:cluster`.
// Never run, only compiled: `node_modules/.bin/tsc -p __test__/types`.
//
// Each line marked with a ts-expect-error directive is misuse that must be
// rejected; an unused directive is itself a compile error, so both directions
// are checked.
// A few "misuses" that @types/node deliberately accepts (fork(env?: any), a
// listener whose parameters are annotated with wrong types, which the
// catch-all `(event: string, listener: (...args: any[]) => void)` overload
// accepts) are written as plain lines: rust-cluster must accept them too,
// because its types are exactly node:cluster's.

import cluster from 'rust-cluster';
import { Worker } from 'rust-cluster';
import type { Address, Cluster, ClusterSettings } from 'rust-cluster';
import * as rustNs from 'rust-cluster';

import nodeCluster from 'node:cluster';
import * as nodeNs from 'node:cluster';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import type { ChildProcess } from 'node:child_process';

// ---------------------------------------------------------------------------
// 1. The module as a whole, and each exported type, is node:cluster's.
// ---------------------------------------------------------------------------
expectExact<typeof rustNs, typeof nodeNs>(true);
expectExact<typeof cluster, typeof nodeCluster>(true);
expectExact<Cluster, nodeNs.Cluster>(true);
expectExact<Worker, nodeNs.Worker>(true);
expectExact<typeof Worker, typeof nodeNs.Worker>(true);
expectExact<ClusterSettings, nodeNs.ClusterSettings>(true);
expectExact<Address, nodeNs.Address>(true);
expectExact<typeof cluster, Cluster>(true);
// Sanity: the helper really distinguishes types.
expectExact<Worker, Cluster>(false);
expectExact<typeof rustNs, Cluster>(false);
// @ts-expect-error Worker and Cluster differ, so `true` is not accepted here
expectExact<Worker, Cluster>(true);

// ---------------------------------------------------------------------------
// 2. Primary: properties.
// ---------------------------------------------------------------------------
const isPrimary: boolean = cluster.isPrimary;
const isMaster: boolean = cluster.isMaster; // legacy alias
const isWorker: boolean = cluster.isWorker;
const schedNone: number = cluster.SCHED_NONE;
const schedRr: number = cluster.SCHED_RR;
cluster.schedulingPolicy = cluster.SCHED_RR;
cluster.schedulingPolicy = cluster.SCHED_NONE;
const policy: number = cluster.schedulingPolicy;
const settings: ClusterSettings = cluster.settings;
expectExact<typeof cluster.worker, Worker | undefined>(true);
expectExact<typeof cluster.workers, NodeJS.Dict<Worker> | undefined>(true);
expectExact<typeof cluster.settings, ClusterSettings>(true);
void [isPrimary, isMaster, isWorker, schedNone, schedRr, policy, settings];

// @ts-expect-error isPrimary is read-only
cluster.isPrimary = false;
// @ts-expect-error isMaster is read-only
cluster.isMaster = false;
// @ts-expect-error isWorker is read-only
cluster.isWorker = true;
// @ts-expect-error settings is read-only
cluster.settings = {};
// @ts-expect-error SCHED_RR is read-only
cluster.SCHED_RR = 2;
// @ts-expect-error schedulingPolicy is a number, not 'rr'
cluster.schedulingPolicy = 'rr';
// @ts-expect-error cluster.worker may be undefined (it is, in the primary)
cluster.worker.id;
// @ts-expect-error cluster.workers may be undefined (it is, in a worker)
cluster.workers[1];
// @ts-expect-error a worker slot in cluster.workers may be undefined
cluster.workers![1].id;

// Iterating over the workers, as the docs do.
for (const id in cluster.workers) {
    const w = cluster.workers[id];
    expectExact<typeof w, Worker | undefined>(true);
    w?.send('big announcement to all workers');
}
for (const w of Object.values(cluster.workers ?? {})) {
    if (w) w.send({ cmd: 'ping' });
}

// ---------------------------------------------------------------------------
// 3. Primary: settings, setupPrimary / setupMaster, fork, disconnect.
// ---------------------------------------------------------------------------
const allSettings: ClusterSettings = {
    execArgv: ['--max-old-space-size=64'],
    exec: 'worker.js',
    args: ['--use', 'https'] as const,
    silent: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    uid: 1000,
    gid: 1000,
    inspectPort: 9230,
    serialization: 'advanced',
    cwd: '/tmp',
    windowsHide: true,
};
cluster.setupPrimary(allSettings);
cluster.setupPrimary();
cluster.setupPrimary({ inspectPort: () => 9231, serialization: 'json' });
cluster.setupMaster({ exec: 'worker.js', args: ['--use', 'http'] }); // legacy alias
cluster.setupMaster();
expectExact<ReturnType<typeof cluster.setupPrimary>, void>(true);
expectExact<ReturnType<typeof cluster.setupMaster>, void>(true);

// @ts-expect-error exec must be a string
cluster.setupPrimary({ exec: 42 });
// @ts-expect-error unknown option
cluster.setupPrimary({ unknownOption: true });
// @ts-expect-error serialization is 'json' | 'advanced'
cluster.setupPrimary({ serialization: 'xml' });
// @ts-expect-error args is an array of strings, not a string
cluster.setupPrimary({ args: '--use https' });
// @ts-expect-error args holds strings only
cluster.setupPrimary({ args: [1, 2] });
// @ts-expect-error inspectPort is a number or a function returning one
cluster.setupPrimary({ inspectPort: '9229' });
// @ts-expect-error silent is a boolean
cluster.setupMaster({ silent: 'yes' });
// @ts-expect-error uid is a number
cluster.setupMaster({ uid: 'root' });
// @ts-expect-error settings is an object, not a path
cluster.setupPrimary('worker.js');

const w1: Worker = cluster.fork();
const w2: Worker = cluster.fork({ PORT: '8000', DEBUG: undefined });
// @types/node declares fork(env?: any), so a non-object env compiles for
// node:cluster and therefore for rust-cluster too (Node throws at run time).
cluster.fork(42);
// @ts-expect-error fork takes at most one argument
cluster.fork({}, {});
// @ts-expect-error fork returns a Worker, not a ChildProcess
const notChild: ChildProcess = cluster.fork();

cluster.disconnect();
cluster.disconnect(() => {});
expectExact<ReturnType<typeof cluster.disconnect>, void>(true);
// @ts-expect-error the callback takes no arguments
cluster.disconnect((err: Error) => {});
// @ts-expect-error the callback must be a function
cluster.disconnect(1);

// ---------------------------------------------------------------------------
// 4. Primary: every event overload, through every listener method.
// ---------------------------------------------------------------------------
cluster.on('disconnect', (worker) => expectExact<typeof worker, Worker>(true));
cluster.on('exit', (worker, code, signal) => {
    expectExact<typeof worker, Worker>(true);
    expectExact<typeof code, number>(true);
    expectExact<typeof signal, string>(true);
});
cluster.on('fork', (worker) => expectExact<typeof worker, Worker>(true));
cluster.on('listening', (worker, address) => {
    expectExact<typeof worker, Worker>(true);
    expectExact<typeof address, Address>(true);
    const a: string = address.address;
    const p: number = address.port;
    const t: 4 | 6 | -1 | 'udp4' | 'udp6' = address.addressType;
    void [a, p, t];
});
cluster.on('message', (worker, message, handle) => {
    expectExact<typeof worker, Worker>(true);
    expectExact<typeof message, any>(true);
    expectExact<typeof handle, net.Socket | net.Server>(true);
});
cluster.on('online', (worker) => expectExact<typeof worker, Worker>(true));
cluster.on('setup', (s) => expectExact<typeof s, ClusterSettings>(true));
cluster.on('anything-else', (...args) => expectExact<typeof args, any[]>(true));

cluster.addListener('disconnect', (worker) => expectExact<typeof worker, Worker>(true));
cluster.addListener('exit', (worker, code, signal) => expectExact<[typeof worker, typeof code, typeof signal], [Worker, number, string]>(true));
cluster.addListener('fork', (worker) => expectExact<typeof worker, Worker>(true));
cluster.addListener('listening', (worker, address) => expectExact<[typeof worker, typeof address], [Worker, Address]>(true));
cluster.addListener('message', (worker, message, handle) => expectExact<[typeof worker, typeof handle], [Worker, net.Socket | net.Server]>(true));
cluster.addListener('online', (worker) => expectExact<typeof worker, Worker>(true));
cluster.addListener('setup', (s) => expectExact<typeof s, ClusterSettings>(true));

cluster.once('disconnect', (worker) => expectExact<typeof worker, Worker>(true));
cluster.once('exit', (worker, code, signal) => expectExact<[typeof worker, typeof code, typeof signal], [Worker, number, string]>(true));
cluster.once('fork', (worker) => expectExact<typeof worker, Worker>(true));
cluster.once('listening', (worker, address) => expectExact<[typeof worker, typeof address], [Worker, Address]>(true));
cluster.once('message', (worker, message, handle) => expectExact<[typeof worker, typeof handle], [Worker, net.Socket | net.Server]>(true));
cluster.once('online', (worker) => expectExact<typeof worker, Worker>(true));
cluster.once('setup', (s) => expectExact<typeof s, ClusterSettings>(true));

cluster.prependListener('disconnect', (worker) => expectExact<typeof worker, Worker>(true));
cluster.prependListener('exit', (worker, code, signal) => expectExact<[typeof worker, typeof code, typeof signal], [Worker, number, string]>(true));
cluster.prependListener('fork', (worker) => expectExact<typeof worker, Worker>(true));
cluster.prependListener('listening', (worker, address) => expectExact<[typeof worker, typeof address], [Worker, Address]>(true));
cluster.prependListener('message', (worker, message, handle) => expectExact<[typeof worker, typeof handle], [Worker, net.Socket | net.Server]>(true));
cluster.prependListener('online', (worker) => expectExact<typeof worker, Worker>(true));
cluster.prependListener('setup', (s) => expectExact<typeof s, ClusterSettings>(true));

cluster.prependOnceListener('disconnect', (worker) => expectExact<typeof worker, Worker>(true));
cluster.prependOnceListener('exit', (worker, code, signal) => expectExact<[typeof worker, typeof code, typeof signal], [Worker, number, string]>(true));
cluster.prependOnceListener('fork', (worker) => expectExact<typeof worker, Worker>(true));
cluster.prependOnceListener('listening', (worker, address) => expectExact<[typeof worker, typeof address], [Worker, Address]>(true));
cluster.prependOnceListener('message', (worker, message, handle) => expectExact<[typeof worker, typeof handle], [Worker, net.Socket | net.Server]>(true));
cluster.prependOnceListener('online', (worker) => expectExact<typeof worker, Worker>(true));
cluster.prependOnceListener('setup', (s) => expectExact<typeof s, ClusterSettings>(true));

// Listener methods return the cluster, so they chain.
expectExact<ReturnType<typeof cluster.on>, Cluster>(true);
const chained: Cluster = cluster.on('fork', () => {}).once('online', () => {}).addListener('exit', () => {});
void chained;

// emit, with the argument types of each event.
const emitted: boolean[] = [
    cluster.emit('disconnect', w1),
    cluster.emit('exit', w1, 0, 'SIGTERM'),
    cluster.emit('fork', w1),
    cluster.emit('listening', w1, { address: '127.0.0.1', port: 8000, addressType: 4 }),
    cluster.emit('message', w1, { cmd: 'x' }, new net.Socket()),
    cluster.emit('online', w1),
    cluster.emit('setup', allSettings),
    cluster.emit(Symbol('custom'), 1, 2, 3),
];
void emitted;

// The rest of EventEmitter.
const exitListener = (worker: Worker, code: number, signal: string) => void [worker, code, signal];
cluster.on('exit', exitListener);
cluster.off('exit', exitListener);
cluster.removeListener('exit', exitListener);
cluster.removeAllListeners('exit');
cluster.removeAllListeners();
cluster.setMaxListeners(20);
const maxListeners: number = cluster.getMaxListeners();
const count: number = cluster.listenerCount('exit');
const names: (string | symbol)[] = cluster.eventNames();
const fns: Function[] = cluster.listeners('exit').concat(cluster.rawListeners('fork'));
void [maxListeners, count, names, fns];

// Misuse inside listeners: the parameters are contextually typed per event.
cluster.on('exit', (worker, code, signal) => {
    // @ts-expect-error code is a number
    const s: string = code;
    // @ts-expect-error signal is a string
    const n: number = signal;
    // @ts-expect-error a Worker has no pid (it is worker.process.pid)
    worker.pid;
});
cluster.on('fork', (worker) => {
    // @ts-expect-error the fork listener gets a Worker
    const n: number = worker;
});
cluster.on('online', (worker) => {
    // @ts-expect-error worker.id is a number
    const s: string = worker.id;
});
cluster.on('disconnect', (worker) => {
    // @ts-expect-error isConnected is a method
    const b: boolean = worker.isConnected;
});
cluster.on('listening', (worker, address) => {
    // @ts-expect-error port is a number
    const s: string = address.port;
    // @ts-expect-error addressType is not a string like 'IPv4'
    const isV4: boolean = address.addressType === 'IPv4';
});
cluster.on('message', (worker, message, handle) => {
    // @ts-expect-error the handle is a net.Socket or net.Server, not a dgram socket
    const d: dgram.Socket = handle;
});
cluster.on('setup', (s) => {
    // @ts-expect-error the setup listener gets the settings
    const w: Worker = s;
});
// @ts-expect-error a listener must be a function
cluster.on('exit', 42);
// @ts-expect-error event names are strings or symbols
cluster.on(42, () => {});
// @ts-expect-error once needs a listener
cluster.once('fork');
// The catch-all overload `(event: string, listener: (...args: any[]) => void)`
// accepts listeners with wrongly annotated parameters, in @types/node as here.
cluster.on('exit', (worker: number) => void worker);

// ---------------------------------------------------------------------------
// 5. Worker: properties and methods.
// ---------------------------------------------------------------------------
const id: number = w1.id;
const proc: ChildProcess = w1.process;
expectExact<typeof w1.process, ChildProcess>(true);
const pid: number | undefined = w1.process.pid;
const after: boolean = w1.exitedAfterDisconnect;
w1.exitedAfterDisconnect = false;
const connected: boolean = w1.isConnected();
const dead: boolean = w1.isDead();
void [id, proc, pid, after, connected, dead];

// send: all three overloads.
const sent: boolean[] = [
    w1.send('hi there'),
    w1.send({ cmd: 'notifyRequest', n: 1, nested: { a: [1, 2] } }),
    w1.send(42),
    w1.send(true),
    w1.send(10n),
    w1.send('cb', (error) => expectExact<typeof error, Error | null>(true)),
    w1.send('socket', new net.Socket()),
    w1.send('server', net.createServer()),
    w1.send('udp', dgram.createSocket('udp4')),
    w1.send('none', undefined),
    w1.send('socket', new net.Socket(), (error) => expectExact<typeof error, Error | null>(true)),
    w1.send('socket', new net.Socket(), { keepOpen: true }),
    w1.send('socket', new net.Socket(), { keepOpen: false }, (error) => void error),
];
void sent;

// kill / destroy (alias) / disconnect.
w1.kill();
w1.kill('SIGKILL');
w1.destroy();
w1.destroy('SIGTERM');
expectExact<ReturnType<typeof w1.kill>, void>(true);
expectExact<ReturnType<typeof w1.disconnect>, Worker>(true);
const same: Worker = w2.disconnect();
void same;

// @ts-expect-error send needs a message
w1.send();
// @ts-expect-error a handle is a net.Socket, net.Server or dgram.Socket, not a string
w1.send('socket', 'not-a-handle');
// @ts-expect-error keepOpen is a boolean
w1.send('socket', new net.Socket(), { keepOpen: 'yes' });
// @ts-expect-error unknown send option
w1.send('socket', new net.Socket(), { keepAlive: true });
// @ts-expect-error null is not a serializable message
w1.send(null);
// @ts-expect-error the send callback gets an Error | null, not a string
w1.send('x', (error: string) => {});
// @ts-expect-error send returns a boolean
const sendResult: string = w1.send('x');
// @ts-expect-error signals are names, not numbers
w1.kill(9);
// @ts-expect-error destroy takes a signal name too
w1.destroy(15);
// @ts-expect-error disconnect takes no callback
w1.disconnect(() => {});
// @ts-expect-error id is a number
w1.id = '1';
// @ts-expect-error exitedAfterDisconnect is a boolean
w1.exitedAfterDisconnect = 'yes';
// @ts-expect-error process.pid may be undefined
const strictPid: number = w1.process.pid;
// @ts-expect-error isDead is a method
const deadFlag: boolean = w1.isDead;

// ---------------------------------------------------------------------------
// 6. Worker: every event overload, through every listener method.
// ---------------------------------------------------------------------------
w1.on('disconnect', () => {});
w1.on('error', (error) => expectExact<typeof error, Error>(true));
w1.on('exit', (code, signal) => expectExact<[typeof code, typeof signal], [number, string]>(true));
w1.on('listening', (address) => expectExact<typeof address, Address>(true));
w1.on('message', (message, handle) => expectExact<[typeof message, typeof handle], [any, net.Socket | net.Server]>(true));
w1.on('online', () => {});
w1.on('anything-else', (...args) => expectExact<typeof args, any[]>(true));

w1.addListener('disconnect', () => {});
w1.addListener('error', (error) => expectExact<typeof error, Error>(true));
w1.addListener('exit', (code, signal) => expectExact<[typeof code, typeof signal], [number, string]>(true));
w1.addListener('listening', (address) => expectExact<typeof address, Address>(true));
w1.addListener('message', (message, handle) => expectExact<[typeof message, typeof handle], [any, net.Socket | net.Server]>(true));
w1.addListener('online', () => {});

w1.once('disconnect', () => {});
w1.once('error', (error) => expectExact<typeof error, Error>(true));
w1.once('exit', (code, signal) => expectExact<[typeof code, typeof signal], [number, string]>(true));
w1.once('listening', (address) => expectExact<typeof address, Address>(true));
w1.once('message', (message, handle) => expectExact<[typeof message, typeof handle], [any, net.Socket | net.Server]>(true));
w1.once('online', () => {});

w1.prependListener('disconnect', () => {});
w1.prependListener('error', (error) => expectExact<typeof error, Error>(true));
w1.prependListener('exit', (code, signal) => expectExact<[typeof code, typeof signal], [number, string]>(true));
w1.prependListener('listening', (address) => expectExact<typeof address, Address>(true));
w1.prependListener('message', (message, handle) => expectExact<[typeof message, typeof handle], [any, net.Socket | net.Server]>(true));
w1.prependListener('online', () => {});

w1.prependOnceListener('disconnect', () => {});
w1.prependOnceListener('error', (error) => expectExact<typeof error, Error>(true));
w1.prependOnceListener('exit', (code, signal) => expectExact<[typeof code, typeof signal], [number, string]>(true));
w1.prependOnceListener('listening', (address) => expectExact<typeof address, Address>(true));
w1.prependOnceListener('message', (message, handle) => expectExact<[typeof message, typeof handle], [any, net.Socket | net.Server]>(true));
w1.prependOnceListener('online', () => {});

expectExact<ReturnType<typeof w1.on>, Worker>(true);
const wChained: Worker = w1.on('online', () => {}).once('exit', () => {}).prependListener('error', () => {});
void wChained;

const wEmitted: boolean[] = [
    w1.emit('disconnect'),
    w1.emit('error', new Error('boom')),
    w1.emit('exit', 1, 'SIGTERM'),
    w1.emit('listening', { address: '::', port: 0, addressType: 6 }),
    w1.emit('message', 'hello', net.createServer()),
    w1.emit('online'),
];
void wEmitted;

w1.on('exit', (code, signal) => {
    // @ts-expect-error code is a number
    const s: string = code;
    // @ts-expect-error signal is a string
    const n: number = signal;
});
w1.on('error', (error) => {
    // @ts-expect-error the error listener gets an Error
    const s: string = error;
});
w1.on('listening', (address) => {
    // @ts-expect-error the listening listener gets an Address, not a string
    const s: string = address;
});
w1.on('message', (message, handle) => {
    // @ts-expect-error the handle is a net.Socket or net.Server
    const n: number = handle;
});
// @ts-expect-error a listener must be a function
w1.on('online', 'listener');

// A worker's own view: cluster.worker inside a worker process.
if (cluster.isWorker && cluster.worker) {
    const me: Worker = cluster.worker;
    me.send({ from: me.id });
    me.disconnect();
    me.kill();
}

// The Worker class is exported as a value too (cluster.Worker exists at run time).
const isWorkerInstance: boolean = w1 instanceof Worker;
void isWorkerInstance;

// Real primary/worker pattern, as in the examples.
if (cluster.isPrimary) {
    const worker = cluster.fork();
    worker.on('message', (msg: { cmd?: string }) => {
        if (msg.cmd === 'notifyRequest') worker.send('ack');
    });
    cluster.on('exit', (w, code, signal) => {
        if (w.exitedAfterDisconnect) return;
        console.log(`worker ${w.process.pid} died (${signal || code}); restarting`);
        cluster.fork();
    });
} else {
    process.on('message', (msg) => process.send?.(msg));
}

// rust-cluster's own supervision members (opt-in; see index.d.ts).
import type { ReloadError, WorkerStats, RustClusterSettings } from 'rust-cluster';
if (cluster.isPrimary) {
    cluster.setupPrimary({
        respawn: { delay: 100, factor: 2, maxDelay: 15000, resetAfter: 30000, maxRestarts: 16, window: 60000 },
        memoryLimit: 512 * 1024 * 1024,
        reload: { concurrency: 2, readiness: 'message', readyTimeout: 5000, shutdownTimeout: 5000 },
    });
    cluster.setupPrimary({ respawn: true });
    const reloading: Promise<void> = cluster.reload({ concurrency: 1 });
    reloading.catch((err: ReloadError) => {
        const which: number = err.worker.id + err.replacement.id;
        const why: 'exit' | 'timeout' = err.reason;
        void [which, why];
    });
    const stopping: Promise<void> = cluster.shutdown({ shutdownTimeout: 1000 });
    void stopping;
    cluster.on('respawn', (worker, oldWorker, delayMs) => {
        const n: number = worker.id + oldWorker.id + delayMs;
        void n;
    });
    cluster.on('respawnLimit', (oldWorker) => void oldWorker.id);
    cluster.on('memoryLimit', (worker, rssBytes) => {
        const s: WorkerStats | null = worker.stats();
        if (s !== null) {
            const figures: number = s.pid + s.uptime + s.cpu.user + s.cpu.system + s.rss + s.connections + rssBytes;
            void figures;
        }
    });
    const custom: RustClusterSettings = { maxMessageBytes: 1024, respawn: false };
    void custom;
    // @ts-expect-error readiness is 'listening' or 'message'
    cluster.reload({ readiness: 'soon' });
    // @ts-expect-error respawn is a boolean or options
    cluster.setupPrimary({ respawn: 'yes' });
}

// SCHED_REUSEPORT and its rescue window (opt-in; see docs/reuseport.md).
if (cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_REUSEPORT;
    cluster.setupPrimary({ rescueAfter: 40 });
    const policy: number = cluster.SCHED_REUSEPORT;
    void policy;
    // @ts-expect-error SCHED_REUSEPORT is read-only, as @types/node declares SCHED_RR
    cluster.SCHED_REUSEPORT = 4;
    // @ts-expect-error rescueAfter is a number of ms
    cluster.setupPrimary({ rescueAfter: '40ms' });
}
