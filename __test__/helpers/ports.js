'use strict';
// A port number for a test to listen on later: free now, and outside the kernel's ephemeral
// range, so that no listen(0) or outgoing connection elsewhere in the same run can be handed
// it in between. (A port found with listen(0) and closed again is the next listen(0)'s
// candidate too: a scenario whose own listen(0) steps took the "free" port failed that way.)
//
//   const port = await freePort();             // TCP on '::' (dual stack) and UDP v4/v6 free
//   const [a, b] = await freePorts(2);         // two distinct ones
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');

// The ephemeral range's lower end; ports are drawn from the 8000 numbers below it.
function ephemeralLow() {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 9024) return low;
  } catch { /* not Linux: the IANA range's start */ }
  return 49152;
}

const taken = new Set(); // handed out by this process already

function bindTcp(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '::', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function bindUdp(port, type) {
  return new Promise((resolve) => {
    const s = dgram.createSocket(type);
    s.once('error', () => { s.close(); resolve(false); });
    s.bind({ port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function freePort() {
  const high = ephemeralLow() - 1;
  for (let tries = 0; tries < 200; tries++) {
    const port = high - Math.floor(Math.random() * 8000);
    if (taken.has(port)) continue;
    if (await bindTcp(port) && await bindUdp(port, 'udp4') && await bindUdp(port, 'udp6')) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port found below the ephemeral range in 200 tries');
}

async function freePorts(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await freePort());
  return out;
}

module.exports = { freePort, freePorts };
