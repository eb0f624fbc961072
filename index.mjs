// ES module entry: `import cluster from 'rust-cluster'` and named imports, like node:cluster.
import cluster from './index.js';

export default cluster;
export const {
  isPrimary, isMaster, isWorker, Worker, workers, worker, settings,
  SCHED_NONE, SCHED_RR, schedulingPolicy, setupPrimary, setupMaster, fork, disconnect,
} = cluster;
