'use strict';
// The one JSON line pm2.js and rust-cluster.js print for a run (see README.md).
function resultLine({ manager, version, instances, reloads, report, durationMs, reloadMs }) {
  return JSON.stringify({
    manager,
    version,
    node: process.version,
    instances,
    reloads,
    ok: report.ok,
    failed: report.failed,
    retried: report.retried,
    failures: report.failures.slice(0, 5),
    durationMs,
    reloadMs,
    pids: Object.keys(report.byPid).length,
  });
}

module.exports = { resultLine };
