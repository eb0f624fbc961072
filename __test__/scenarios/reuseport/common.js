'use strict';
// Shared pieces of the reuseport/*.js scenarios: the listening sockets of a port as ss sees them
// (with their inode and accept queue), and a worker's own sockets on a port.
const { execFileSync } = require('node:child_process');
const { ownSocketInodes } = require('../server/common');

// Listening TCP sockets (or bound UDP sockets) on `port`: [{ inode, queued }], from `ss -e`.
// For a listening socket ss's Recv-Q is its accept queue.
function portSockets(kind, port) {
  const flags = kind === 'udp' ? '-luneH' : '-ltneH';
  const out = execFileSync('ss', [flags, `sport = :${port}`], { encoding: 'utf8' });
  return out.trim().split('\n').filter(Boolean).map((line) => {
    const f = line.trim().split(/\s+/);
    const ino = /\bino:(\d+)/.exec(line);
    return { inode: ino ? ino[1] : null, queued: Number(f[1]) };
  });
}

// The inodes of the sockets on `port` that process `pid` holds.
function heldOn(kind, port, pid = 'self') {
  const own = ownSocketInodes(pid);
  return portSockets(kind, port).map((s) => s.inode).filter((i) => own.has(i));
}

module.exports = { portSockets, heldOn };
