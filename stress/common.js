'use strict';
// Shared by the stress scenarios: what /proc says about this process.
const fs = require('fs');

function sample() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Number((status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm')) || [])[1]);
  return {
    fds: fs.readdirSync('/proc/self/fd').length,
    threads: field('Threads'),
    rssKiB: field('VmRSS'),
  };
}

function settle(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { sample, settle };
