'use strict';
// What rust-cluster keeps for a worker.process, under a symbol: its own properties are Node's.

const kState = Symbol('rustCluster.state');

function createState(engine, id, serialization) {
  return {
    engine,
    id,
    serialization,
    pending: new Map(), // send token -> callback
    channelOpen: false,
    closedByUs: false, // our end of the channel was closed (disconnect())
    disconnectRequested: false,
    processRef: true,
    channelRef: true,
    watchingInternal: false,
    onRefChange: null,
  };
}

module.exports = { kState, createState };
