// Input slicing (session/connection.ts): however the received bytes are cut into 'data'
// events, the work between two event-loop turns stays within one slice. The regression this
// guards: libuv hands up to 32 reads to one callback, each chunk took less than a slice to
// apply, so a per-call deadline never expired and the whole burst ran in one turn.
//
// Work is counted, not timed: each message costs a fixed busy-wait, and the test counts how
// many messages are handled between two ticks of a 1 ms interval timer (each turn of the loop
// runs the due timer). One slice allows INPUT_SLICE_MS / cost + 1 messages.
//
// The connection is a real TCP socket on 127.0.0.1, but the bursts are emitted on it by the
// test: how many 64 KiB reads libuv finds waiting depends on the kernel's receive window, which
// a test cannot set (Node has no SO_RCVBUF for TCP), so 32 'data' events in one go, as libuv
// delivers them to a fast reader with a full window, are produced directly.

import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, INPUT_SLICE_MS } from '../../../../bgp/session/connection.ts';
import { DEFAULT_CODEC_OPTIONS, UpdateWriter } from '../../../../bgp/wire/index.ts';

const COST_MS = 0.25;
const MESSAGES = 8 * 16 + 32 * 16 * 3;

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server !== undefined) await new Promise((r) => server?.close(r));
  server = undefined;
});

describe('input slicing', () => {
  it('handles at most one slice of messages per event-loop turn, across many data events', async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const sender = createConnection({ host: '127.0.0.1', port });
    sockets.push(sender);
    await once(sender, 'connect');
    const [socket] = await accepted;
    sockets.push(socket);

    let handled = 0;
    let sinceTick = 0;
    let maxPerTurn = 0;
    const done = new Promise<void>((resolve) => {
      new Connection(
        socket,
        'incoming',
        {
          onMessage: () => {
            busyWait(COST_MS);
            handled++;
            sinceTick++;
            if (sinceTick > maxPerTurn) maxPerTurn = sinceTick;
            if (handled === MESSAGES) resolve();
          },
          onWireError: (err) => {
            throw err;
          },
          onClosed: () => {},
          onDrain: () => {},
          onInternalError: (err) => {
            throw err;
          },
        },
        { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0 },
      );
    });
    const tick = setInterval(() => {
      sinceTick = 0;
    }, 1);
    // Full-size UPDATEs (withdrawals, 4096 octets), 16 to a 64 KiB read: a read is worth 4 ms of
    // work, less than a slice. Each burst is 32 reads in one synchronous go.
    const writer = new UpdateWriter(DEFAULT_CODEC_OPTIONS);
    writer.beginWithdraw('ipv4-unicast');
    for (let i = 0; writer.addPrefix(`10.${(i >> 8) & 255}.${i & 255}.0/24`); i++);
    const update = writer.finish();
    expect(update.length).toBeGreaterThan(4000);
    const read = Buffer.concat(Array.from({ length: 16 }, () => update));
    // Warm-up, not counted: the first messages run cold code and take longer than a slice.
    for (let r = 0; r < 8; r++) socket.emit('data', read);
    await waitUntil(() => handled === 8 * 16);
    // Let a pending continuation find the reader empty, so that input is read again at once.
    await new Promise((resolve) => setTimeout(resolve, 20));
    maxPerTurn = 0;
    for (let sent = 8 * 16; sent < MESSAGES; sent += 32 * 16) {
      for (let r = 0; r < 32; r++) socket.emit('data', read);
      await waitUntil(() => handled >= sent + 32 * 16);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await done;
    clearInterval(tick);
    expect(handled).toBe(MESSAGES);
    // One slice, the message that crossed its deadline, and slack for a turn that spans two
    // ticks' worth of timer slop.
    expect(maxPerTurn).toBeLessThanOrEqual(Math.ceil(INPUT_SLICE_MS / COST_MS) * 2 + 2);
  });
});
