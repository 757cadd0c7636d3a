// After `stop()` the speaker holds nothing that keeps the process alive: a child process that
// starts two speakers, lets them establish and exchange routes, and stops them must exit by
// itself, without process.exit. The child is killed at the deadline, so a handle left open shows
// as no exit code rather than as a slow run.
//
// Stopping ends each connection in order: the NOTIFICATION is flushed, FIN is sent, and the socket
// closes once the peer's FIN has been read. A connection cut instead — destroyed at once, or by the
// CLOSE_LINGER_MS timer because the peer's FIN never came — closes without having read to the end.
// The child sees every TCP socket the speakers open (the `net.client.socket` and
// `net.server.socket` diagnostics channels) and reports how each one closed.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { runScript } from './helpers.ts';

const SPEAKER = pathToFileURL(join(import.meta.dirname, '../../../../bgp/speaker/speaker.ts')).href;

const SCRIPT = `
import { subscribe } from 'node:diagnostics_channel';
const sockets = [];
const track = ({ socket }) => {
  const s = { closed: false, readToEnd: false };
  sockets.push(s);
  socket.once('close', () => {
    s.closed = true;
    s.readToEnd = socket.readableEnded;
  });
};
subscribe('net.client.socket', track);
subscribe('net.server.socket', track);
const { Speaker } = await import('${SPEAKER}');
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
console.log('sockets', JSON.stringify(sockets));
`;

test('the process exits by itself after stop(), every connection closed in order', async () => {
  const run = await runScript(SCRIPT, { timeoutMs: 15_000 });
  expect(run.out).toContain('stopped Idle Received: Administrative reset: bye');
  expect(run.code).toBe(0);
  const line = run.out.split('\n').find((l) => l.startsWith('sockets '));
  const sockets = JSON.parse(line?.slice('sockets '.length) ?? '[]') as {
    closed: boolean;
    readToEnd: boolean;
  }[];
  // At least the session's connection, at both ends (both speakers connect: the collision closes
  // one of the two connections).
  expect(sockets.length).toBeGreaterThanOrEqual(2);
  expect(sockets).toEqual(sockets.map(() => ({ closed: true, readToEnd: true })));
});
