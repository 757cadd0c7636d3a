// Input slicing (session/connection.ts): however the received bytes are cut into 'data'
// events, the work between two event-loop turns stays within one slice. The regression this
// guards: libuv hands up to 32 reads to one turn, each chunk took less than a slice to apply,
// so a per-call deadline never expired and the whole burst ran in one turn.
//
// Work is counted on an injected clock, not timed: the Connection measures its slices on `now`,
// which only moves when a message is handled, by COST_MS. A slice therefore holds exactly
// INPUT_SLICE_MS / COST_MS messages (the one that reaches the deadline included). A turn is
// marked by a setImmediate chain that runs once per check phase; since a slice also ends in the
// check phase, a turn's count can hold the end of one slice and the start of the next, never
// more: at most two slices' worth, where the regression ran a whole burst of 512.
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
const PER_SLICE = INPUT_SLICE_MS / COST_MS;
const BURSTS = 3;
const MESSAGES = 32 * 16 * BURSTS;

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server !== undefined) await new Promise((r) => server?.close(r));
  server = undefined;
});

describe('input slicing', () => {
  it('spreads a burst of data events over event-loop turns, a slice of work at a time', async () => {
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

    let clock = 0;
    let handled = 0;
    let thisTurn = 0;
    const perTurn: number[] = [];
    new Connection(
      socket,
      'incoming',
      {
        onMessage: () => {
          clock += COST_MS;
          handled++;
          thisTurn++;
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
      () => clock,
    );
    let ticking = true;
    const tick = () => {
      if (thisTurn > 0) perTurn.push(thisTurn);
      thisTurn = 0;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // Full-size UPDATEs (withdrawals, 4096 octets), 16 to a 64 KiB read: a read is worth 4 ms of
    // work, less than a slice. Each burst is 32 reads in one synchronous go.
    const writer = new UpdateWriter(DEFAULT_CODEC_OPTIONS);
    writer.beginWithdraw('ipv4-unicast');
    for (let i = 0; writer.addPrefix(`10.${(i >> 8) & 255}.${i & 255}.0/24`); i++);
    const update = writer.finish();
    expect(update.length).toBeGreaterThan(4000);
    const read = Buffer.concat(Array.from({ length: 16 }, () => update));
    for (let sent = 0; sent < MESSAGES; sent += 32 * 16) {
      for (let r = 0; r < 32; r++) socket.emit('data', read);
      await waitUntil(() => handled >= sent + 32 * 16);
    }
    ticking = false;
    await new Promise((resolve) => setImmediate(resolve));
    expect(handled).toBe(MESSAGES);
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(2 * PER_SLICE);
    // A burst (32 reads of 16 messages at COST_MS each, on the injected clock) is worth many
    // slices: each was spread over several turns.
    expect(perTurn.length).toBeGreaterThan(BURSTS * 4);
  });
});
