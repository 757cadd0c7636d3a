// After `stop()` the speaker holds nothing that keeps the process alive: a child process that
// starts two speakers, lets them establish and exchange routes, and stops them must exit by
// itself, without process.exit.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { runScript } from './helpers.ts';

const SPEAKER = pathToFileURL(join(import.meta.dirname, '../../../../bgp/speaker/speaker.ts')).href;

const SCRIPT = `
import { Speaker } from '${SPEAKER}';
const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: { address: '127.0.0.1', port: 0 } });
const b = new Speaker({ asn: 64513, routerId: '192.0.2.2', listen: { address: '127.0.0.1', port: 0 } });
await a.start(); await b.start();
a.setPeers([{ address: '127.0.0.1', asn: 64513, port: b.listenPorts[0] }]);
b.setPeers([{ address: '127.0.0.1', asn: 64512, port: a.listenPorts[0] }]);
a.setLocalRoutes([{ prefix: '10.0.0.0/24' }]);
const deadline = Date.now() + 10000;
while (b.routes().length === 0) {
  if (Date.now() > deadline) { console.log('no route'); break; }
  await new Promise((r) => setTimeout(r, 20));
}
await a.stop({ message: 'bye' });
await b.stop();
console.log('stopped', a.peers()[0].state, b.peers()[0].lastError);
`;

test('the process exits by itself after stop()', async () => {
  const run = await runScript(SCRIPT, { timeoutMs: 15_000 });
  expect(run.out).toContain('stopped Idle Received: Administrative reset: bye');
  expect(run.code).toBe(0);
  // Stopping flushes and closes, it does not linger for CLOSE_LINGER_MS on a live peer.
  expect(run.ms).toBeLessThan(10_000);
});
