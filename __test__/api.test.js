'use strict';
// The public API in the primary and in the worker, and worker.process.
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { agree, events } = require('./helpers/oracle');

describe('API surface', { concurrency: 3 }, () => {
  it('primary and worker flags, constants, methods (api-surface.js)', async (t) => {
    const oracle = await agree(t, 'api-surface.js');
    const [p] = events(oracle, 'P', 'primary');
    assert.deepStrictEqual([p.isPrimary, p.isMaster, p.isWorker, p.worker], [true, true, false, '<undefined>']);
    const [w] = events(oracle, 'W1', 'worker');
    assert.deepStrictEqual([w.isPrimary, w.isMaster, w.isWorker, w.id], [false, false, true, 1]);
    const [c] = events(oracle, 'P', 'channel after fork');
    assert.deepStrictEqual([c.own, c.listed, c.isEventEmitter, c.fdIsSocket, c.same], [true, true, true, true, true]);
    assert.strictEqual(events(oracle, 'P', 'channel after disconnect')[0].value, 'null');
  });

  for (const mode of ['kill', 'exit3']) {
    it(`worker.process is a ChildProcess: ${mode} (worker-process.js)`, async (t) => {
      const oracle = await agree(t, 'worker-process.js', { args: [mode] });
      const [p] = events(oracle, 'P', 'process');
      assert.strictEqual(p.isChildProcess, true);
      assert.deepStrictEqual(events(oracle, 'W1', 'ids')[0], { ev: 'ids', pidMatches: true, parentIsPrimary: true });
      const [close] = events(oracle, 'P', 'P.close');
      assert.deepStrictEqual(close.args, mode === 'kill' ? [null, 'SIGTERM'] : [3, null]);
    });
  }

  for (const ser of ['json', 'advanced']) {
    it(`worker.process emits 'internalMessage' while listened to: ${ser} (internal-messages.js)`, async (t) => {
      const oracle = await agree(t, 'internal-messages.js', { args: [ser] });
      const seen = events(oracle, 'P', 'internalMessage').map((e) => e.m.act || e.m.cmd);
      assert.deepStrictEqual(seen, ['online', 'queryServer', 'listening', 'NODE_HANDLE_ACK', 'NODE_CLUSTER', 'NODE_HANDLE', 'NODE_HANDLE']);
      const handles = events(oracle, 'P', 'internalMessage').filter((e) => e.m.cmd === 'NODE_HANDLE').map((e) => e.handle);
      assert.deepStrictEqual(handles, ['TCP', 'TCP']);
      assert.deepStrictEqual(events(oracle, 'P', 'server')[0], { ev: 'server', listening: true, port: 'number' });
      assert.deepStrictEqual(events(oracle, 'P', 'client')[0].got, 'from the primary');
    });
  }
});
