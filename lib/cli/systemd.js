'use strict';
// systemd integration of `rust-cluster run`: socket activation (LISTEN_FDS/LISTEN_PID: the
// inherited listening sockets serve the workers' listen() calls on matching addresses) and the
// notification protocol (NOTIFY_SOCKET: READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1). Both are
// taken out of the environment, so the workers do not see them, as sd_listen_fds() and
// sd_notify() do with unset_environment.

const native = require('../native.js');

const FIRST_FD = 3; // SD_LISTEN_FDS_START

// The inherited descriptors, when they are meant for this process.
function takeListenFds() {
  const n = Number(process.env.LISTEN_FDS);
  const pid = Number(process.env.LISTEN_PID);
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDNAMES;
  if (!Number.isInteger(n) || n <= 0 || pid !== process.pid) return [];
  return Array.from({ length: n }, (_, i) => FIRST_FD + i);
}

function notifier() {
  const socket = process.env.NOTIFY_SOCKET;
  const watchdogUsec = Number(process.env.WATCHDOG_USEC);
  const watchdogPid = process.env.WATCHDOG_PID;
  delete process.env.NOTIFY_SOCKET;
  delete process.env.WATCHDOG_USEC;
  delete process.env.WATCHDOG_PID;
  if (!socket) return { notify() {}, active: false };
  const { Engine } = native.load();
  const notify = (state) => {
    try {
      Engine.sdNotify(socket, state);
    } catch (err) {
      console.error(`rust-cluster: ${err.message}`);
    }
  };
  if (watchdogUsec > 0 && (watchdogPid === undefined || Number(watchdogPid) === process.pid)) {
    // Half the interval, as sd_watchdog_enabled(3) advises.
    setInterval(() => notify('WATCHDOG=1'), Math.max(1, Math.floor(watchdogUsec / 2000))).unref();
  }
  return { notify, active: true };
}

// For RELOADING=1 (Type=notify-reload wants the time it started).
function monotonicUsec() {
  return process.hrtime.bigint() / 1000n;
}

module.exports = { takeListenFds, notifier, monotonicUsec };
