'use strict';
// Worker stdio: inherited by default, pipes with silent:true (read through
// worker.process.stdout/stderr), and explicit stdio arrays with an extra
// pipe next to the IPC channel (ipc at fd 3 or at fd 4).
// Cases (argv[2]): default, silent, extra_pipe_fd4, ipc_fd4; short (['ipc']: padded to three
// entries with pipes, in the settings' own array) and negative_fd (a negative descriptor is a
// pipe), both read like silent; many (71 entries: the channel at fd 69 and a pipe at fd 70,
// past any fixed table).
const fs = require('node:fs');
const { once } = require('node:events');
const { Readable, Writable } = require('node:stream');
const { cluster, obs, safety } = require('../helpers/observe');

const mode = process.argv[2];
safety();

const STDIO = {
  extra_pipe_fd4: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'],
  ipc_fd4: ['pipe', 'inherit', 'inherit', 'pipe', 'ipc'],
  short: ['ipc'],
  negative_fd: ['pipe', -1, -2, 'ipc'],
  many: ['inherit', 'inherit', 'inherit', ...Array(66).fill('ignore'), 'ipc', 'pipe'],
};
const PIPED_OUTPUT = new Set(['silent', 'short', 'negative_fd']);
const EXTRA_FD = { extra_pipe_fd4: 4, ipc_fd4: 3, many: 70 };

function collect(stream) {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (d) => { text += d; });
  return once(stream, 'end').then(() => text);
}

if (cluster.isPrimary) {
  if (mode === 'silent') cluster.setupPrimary({ silent: true });
  if (STDIO[mode]) cluster.setupPrimary({ stdio: STDIO[mode] });
  const w = cluster.fork();
  const proc = w.process;
  if (STDIO[mode]) obs('settings stdio after fork', { stdio: cluster.settings.stdio });
  obs('stdio', {
    length: proc.stdio.length,
    // The primary writes to the worker's fd 0 and reads from the others; Node's streams for
    // the others are writable too (duplex sockets), and so are rust-cluster's.
    entries: proc.stdio.map((s) => {
      if (s === null) return null;
      return {
        readable: s.readable, writable: s.writable,
        isReadable: s instanceof Readable, isWritable: s instanceof Writable,
      };
    }),
    stdin: proc.stdin === null ? null : proc.stdin === proc.stdio[0],
    stdout: proc.stdout === null ? null : proc.stdout === proc.stdio[1],
    stderr: proc.stderr === null ? null : proc.stderr === proc.stdio[2],
  });
  const texts = {};
  const reads = [];
  if (PIPED_OUTPUT.has(mode)) {
    reads.push(collect(proc.stdout).then((t) => { texts.stdout = t; }));
    reads.push(collect(proc.stderr).then((t) => { texts.stderr = t; }));
  }
  if (EXTRA_FD[mode]) {
    const fd = EXTRA_FD[mode];
    reads.push(collect(proc.stdio[fd]).then((t) => { texts[`fd${fd}`] = t; }));
  }
  if (mode === 'ipc_fd4') proc.stdin.end('line for stdin\n');

  w.on('message', (msg) => {
    obs('message', { msg });
    w.disconnect();
  });
  Promise.all([once(w, 'exit'), ...reads]).then(([[code, signal]]) => {
    obs('done', { code, signal, texts });
  });
} else {
  const environ = fs.readFileSync('/proc/self/environ', 'utf8').split('\0');
  const channelFd = environ.filter((e) => e.startsWith('NODE_CHANNEL_FD=')).map((e) => e.slice(16));
  // In silent mode these lines go to the primary, which reports them.
  obs('worker', { channelFd, processChannelFd: process.channel && process.channel.fd });
  if (PIPED_OUTPUT.has(mode)) {
    console.log('plain line on stdout');
    console.error('plain line on stderr');
  }
  if (EXTRA_FD[mode]) fs.writeSync(EXTRA_FD[mode], `written to fd ${EXTRA_FD[mode]}\n`);
  if (mode === 'ipc_fd4') {
    collect(process.stdin).then((text) => {
      obs('stdin', { text });
      process.send('done');
    });
  } else {
    process.send('done');
  }
}
