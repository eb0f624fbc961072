'use strict';
// The CLI's arguments, parsed with util.parseArgs. Every error is a CliError: one line for a
// person, and the exit code.

const os = require('node:os');
const { parseArgs } = require('node:util');

class CliError extends Error {
  constructor(message, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

const USAGE = `usage:
  rust-cluster run <script> [-i N|max|-1] [--name NAME] [--max-memory SIZE] [--respawn]
                   [--shutdown-timeout MS] [--ready message] [--metrics [HOST:]PORT]
                   [--policy rr|none|reuseport] [--log-format text|json] [-- script args]
  rust-cluster status [NAME] [--json] [--watch]
  rust-cluster reload [NAME]
  rust-cluster scale NAME N
  rust-cluster stop [NAME]`;

// parseArgs refuses an option value that starts with a dash ("-i -1"): join the pair first.
function joinNegativeValues(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if ((args[i] === '-i' || args[i] === '--instances') && /^-\d+$/.test(args[i + 1] || '')) {
      out.push(`--instances=${args[++i]}`);
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

function parse(args, options) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`rust-cluster: ${err.message.split('\n')[0]}`);
  }
}

// -i: a count, 'max' (the available parallelism) or a negative number (that many fewer, at
// least 1), as PM2 takes it.
function instanceCount(value) {
  const cpus = os.availableParallelism();
  if (value === undefined) return 1;
  if (value === 'max' || value === '0') return cpus;
  if (!/^-?\d+$/.test(value)) {
    throw new CliError(`rust-cluster: -i takes a number of workers, max, or -N (max less N), not "${value}"`);
  }
  const n = Number(value);
  return n < 0 ? Math.max(1, cpus + n) : n;
}

// 512M, 1G, 300K or plain bytes.
function size(value, flag) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(value);
  if (!m) throw new CliError(`rust-cluster: ${flag} takes a size such as 512M or 1G, not "${value}"`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * unit);
}

function millis(value, flag) {
  if (!/^\d+$/.test(value)) throw new CliError(`rust-cluster: ${flag} takes milliseconds, not "${value}"`);
  return Number(value);
}

// --metrics [HOST:]PORT (host 127.0.0.1 by default).
function parseAddress(value) {
  const m = /^(?:(.+):)?(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new CliError(`rust-cluster: --metrics takes [HOST:]PORT, not "${value}"`);
  return { host: m[1] || '127.0.0.1', port };
}

function parseRun(rest) {
  const dash = rest.indexOf('--');
  const own = dash === -1 ? rest : rest.slice(0, dash);
  const scriptArgs = dash === -1 ? [] : rest.slice(dash + 1);
  const { values, positionals } = parse(joinNegativeValues(own), {
    instances: { type: 'string', short: 'i' },
    name: { type: 'string' },
    'max-memory': { type: 'string' },
    respawn: { type: 'boolean' },
    'shutdown-timeout': { type: 'string' },
    ready: { type: 'string' },
    'log-format': { type: 'string' },
    metrics: { type: 'string' },
    policy: { type: 'string' },
  });
  if (positionals.length === 0) throw new CliError(`rust-cluster run: which script? ${USAGE.split('\n')[1].trim()}`);
  if (positionals.length > 1) {
    throw new CliError(`rust-cluster run: unexpected "${positionals[1]}"; pass the script's own arguments after --`);
  }
  const script = positionals[0];
  if (values.ready !== undefined && values.ready !== 'message') {
    throw new CliError(`rust-cluster: --ready takes "message" (wait for process.send('ready')), not "${values.ready}"`);
  }
  const logFormat = values['log-format'] || 'text';
  if (logFormat !== 'text' && logFormat !== 'json') {
    throw new CliError(`rust-cluster: --log-format takes text or json, not "${logFormat}"`);
  }
  const name = values.name || require('node:path').basename(script).replace(/\.[cm]?js$/, '');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new CliError(`rust-cluster: --name may hold letters, digits, '.', '_' and '-', not "${name}"`);
  }
  if (values.metrics !== undefined) parseAddress(values.metrics);
  if (values.policy !== undefined && !['rr', 'none', 'reuseport'].includes(values.policy)) {
    throw new CliError(`rust-cluster: --policy takes rr, none or reuseport, not "${values.policy}"`);
  }
  const instances = instanceCount(values.instances);
  if (instances < 1) throw new CliError('rust-cluster: -i must give at least one worker');
  return {
    command: 'run',
    script,
    scriptArgs,
    instances,
    name,
    maxMemory: values['max-memory'] === undefined ? undefined : size(values['max-memory'], '--max-memory'),
    respawn: values.respawn === true,
    shutdownTimeout: values['shutdown-timeout'] === undefined ? 10000 : millis(values['shutdown-timeout'], '--shutdown-timeout'),
    readiness: values.ready === 'message' ? 'message' : 'listening',
    logFormat,
    metrics: values.metrics,
    policy: values.policy,
  };
}

function parseControl(command, rest) {
  const { values, positionals } = parse(rest, {
    json: { type: 'boolean' },
    watch: { type: 'boolean' },
  });
  if (command === 'scale') {
    if (positionals.length !== 2 || !/^\d+$/.test(positionals[1])) {
      throw new CliError('rust-cluster scale: give a name and a number of workers: rust-cluster scale NAME N');
    }
    return { command, name: positionals[0], count: Number(positionals[1]) };
  }
  if (positionals.length > 1) throw new CliError(`rust-cluster ${command}: unexpected "${positionals[1]}"`);
  if ((values.json || values.watch) && command !== 'status') {
    throw new CliError(`rust-cluster ${command}: --json and --watch go with status`);
  }
  return { command, name: positionals[0], json: values.json === true, watch: values.watch === true };
}

function parseCommandLine(argv) {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    return { command: 'help', usage: USAGE };
  }
  if (command === 'run') return parseRun(rest);
  if (['status', 'reload', 'scale', 'stop'].includes(command)) return parseControl(command, rest);
  throw new CliError(`rust-cluster: unknown command "${command}" (run, status, reload, scale, stop)`);
}

module.exports = { parseCommandLine, CliError, USAGE, instanceCount, size, parseAddress };
