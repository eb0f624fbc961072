'use strict';
// Used by scenario scripts, in the primary and in the workers.
// Every observation is one JSON object on one stdout line, tagged with the
// process it came from: "P" for the primary, "W<id>" for worker <id>.
const crypto = require('node:crypto');
const cluster = require('./impl');

function source() {
  if (!cluster.isWorker) return 'P';
  return 'W' + (cluster.worker ? cluster.worker.id : '?');
}

// JSON has no undefined, functions, symbols, bigints or non-finite numbers:
// spell them out so that they are compared too.
function replacer(key, value) {
  if (value === undefined) return '<undefined>';
  if (typeof value === 'function') return '<function>';
  if (typeof value === 'symbol') return `<${String(value)}>`;
  if (typeof value === 'bigint') return `<bigint ${value}>`;
  if (typeof value === 'number' && !Number.isFinite(value)) return `<${value}>`;
  if (Object.is(value, -0)) return '<-0>';
  return value;
}

// Print one observation. `data.lane` (optional) puts it in its own ordered
// stream, for events whose order relative to other lanes Node does not fix.
function obs(ev, data = {}) {
  const o = { src: source(), ev, ...data };
  if (o.lane === undefined) delete o.lane;
  process.stdout.write(JSON.stringify(o, replacer) + '\n');
}

// Long strings are shown as their length and hash.
function short(value) {
  if (typeof value === 'string' && value.length > 200) {
    const sha = crypto.createHash('sha256').update(value).digest('hex').slice(0, 16);
    return `<string length=${value.length} sha256=${sha}>`;
  }
  if (Array.isArray(value)) return value.map(short);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out = {};
    for (const k of Object.keys(value)) out[k] = short(value[k]);
    return out;
  }
  return value;
}

// A scenario must end on its own; if it hangs, say so and fail.
function safety(ms = 5000) {
  setTimeout(() => {
    obs('safety-timeout', { ms });
    process.exit(99);
  }, ms).unref();
}

// What the primary can see of a worker at one moment.
function snap(worker) {
  return {
    state: worker.state,
    ead: worker.exitedAfterDisconnect,
    connected: worker.isConnected(),
    dead: worker.isDead(),
    listed: cluster.workers[worker.id] === worker,
  };
}

// Run fn; report its return value or the name and code of what it threw.
function attempt(fn) {
  try {
    return { ret: fn() };
  } catch (err) {
    return { threw: err && err.name, code: err && err.code };
  }
}

function errInfo(err) {
  return err == null ? err : { name: err.name, code: err.code };
}

module.exports = { cluster, obs, short, safety, snap, attempt, errInfo };
