'use strict';
// A 'message' listener that throws (caught by an uncaughtException handler) does not lose or
// repeat the messages that arrived with it.
const { cluster, obs, safety } = require('../helpers/observe');

safety();
if (cluster.isPrimary) {
  process.on('uncaughtException', (e) => obs('uncaught', { message: e.message }));
  const w = cluster.fork();
  w.on('message', (m) => {
    obs('got', { m });
    if (m === 2) throw new Error('listener threw on 2');
    if (m === 4) w.disconnect();
  });
  w.on('disconnect', () => obs('disconnect'));
  w.on('exit', (code) => obs('exit', { code }));
} else {
  for (let i = 1; i <= 4; i++) process.send(i);
}
