#!/usr/bin/env node
'use strict';
// The rust-cluster command: run an app on rust-cluster, and control the running ones.
const { parseCommandLine, CliError } = require('../lib/cli/args.js');

async function main() {
  const opts = parseCommandLine(process.argv.slice(2));
  if (opts.command === 'help') {
    console.log(opts.usage);
  } else if (opts.command === 'run') {
    await require('../lib/cli/run.js').run(opts);
  } else {
    await require('../lib/cli/control.js').control(opts);
  }
}

main().catch((err) => {
  if (err instanceof CliError) {
    console.error(err.message);
    process.exit(err.exitCode);
  }
  console.error(`rust-cluster: ${err.stack || err}`);
  process.exit(1);
});
