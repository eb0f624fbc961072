'use strict';
// Validation of the supervision options (reload, shutdown, respawn, memoryLimit), at the call and
// with Node's error codes, so that bad input never surfaces later in a timer.

const errors = require('./errors.js');

const RELOAD_DEFAULTS = { concurrency: 1, readiness: 'listening', readyTimeout: 10000, shutdownTimeout: 10000 };
const RESPAWN_DEFAULTS = {
  delay: 100, factor: 2, maxDelay: 15000, resetAfter: 30000, maxRestarts: 16, window: 60000,
};
const MAX_TIMER = 2 ** 31 - 1;

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function object(name, value) {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw errors.invalidArgType(name, 'object', value);
  return value;
}

// A whole number of milliseconds (or a count) in [min, max].
function integer(name, value, min, max = MAX_TIMER) {
  if (typeof value !== 'number') throw errors.invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw errors.outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw errors.outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

function number(name, value, min) {
  if (typeof value !== 'number') throw errors.invalidArgType(name, 'number', value);
  if (!(value >= min) || value === Infinity) throw errors.outOfRange(name, `>= ${min} and finite`, value);
  return value;
}

// reload()/shutdown() options over the ones given to setupPrimary({ reload }), over the defaults.
function reloadOptions(name, given, fromSettings) {
  const merged = { ...RELOAD_DEFAULTS, ...object('settings.reload', fromSettings), ...object(name, given) };
  integer(`${name}.concurrency`, merged.concurrency, 1, 1024);
  if (merged.readiness !== 'listening' && merged.readiness !== 'message') {
    throw errors.invalidArgValue(`${name}.readiness`, merged.readiness, "must be 'listening' or 'message'");
  }
  integer(`${name}.readyTimeout`, merged.readyTimeout, 0);
  integer(`${name}.shutdownTimeout`, merged.shutdownTimeout, 0);
  return merged;
}

// setupPrimary({ respawn }): false/undefined (off), true (the defaults) or an object of them.
function respawnOptions(value) {
  if (value === undefined || value === false) return null;
  if (value === true) return { ...RESPAWN_DEFAULTS };
  if (!isPlainObject(value)) throw errors.invalidArgType('options.respawn', ['boolean', 'object'], value);
  const o = { ...RESPAWN_DEFAULTS, ...value };
  integer('options.respawn.delay', o.delay, 0);
  number('options.respawn.factor', o.factor, 1);
  integer('options.respawn.maxDelay', o.maxDelay, 0);
  integer('options.respawn.resetAfter', o.resetAfter, 0);
  integer('options.respawn.maxRestarts', o.maxRestarts, 0, Number.MAX_SAFE_INTEGER);
  integer('options.respawn.window', o.window, 0);
  return o;
}

// setupPrimary({ memoryLimit }): bytes, or undefined/0 for none.
function memoryLimitOption(value) {
  if (value === undefined) return 0;
  return integer('options.memoryLimit', value, 0, Number.MAX_SAFE_INTEGER);
}

// setupPrimary({ rescueAfter }): SCHED_REUSEPORT's rescue window in ms; 0 turns it off.
const RESCUE_AFTER_DEFAULT = 40;
function rescueAfterOption(value) {
  if (value === undefined) return RESCUE_AFTER_DEFAULT;
  return integer('options.rescueAfter', value, 0);
}

// Checks what setupPrimary() was given of the supervision options before any of it is kept.
function checkSettings(options) {
  if (!isPlainObject(options)) return;
  if (options.reload !== undefined) reloadOptions('options.reload', options.reload, undefined);
  respawnOptions(options.respawn);
  memoryLimitOption(options.memoryLimit);
  rescueAfterOption(options.rescueAfter);
}

module.exports = {
  reloadOptions, respawnOptions, memoryLimitOption, rescueAfterOption, checkSettings, RESPAWN_DEFAULTS,
};
