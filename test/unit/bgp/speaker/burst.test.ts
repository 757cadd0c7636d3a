// A 200k-prefix table from one speaker to another over 127.0.0.1, with the speakers' timers on a
// ManualClock: the clock moves only when the test says, so how long the burst takes in real time
// decides nothing here. (How long a speaker's event loop stalls while it sends or takes such a
// burst, against its peer's hold time, is a benchmark's figure.) Checked: the table arrives whole
// and packed, no session goes down, a KEEPALIVE that falls due while the pump still has UPDATEs to
// write goes out at once, ahead of them, and after the burst each side's KEEPALIVEs keep the
// other's hold timer from expiring.
import { afterEach, expect, test } from 'vitest';
import type { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { ManualClock } from '../../../support/manual-clock.ts';
import { peerOf, portOf, RawPeer, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

const raws: RawPeer[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(raws.splice(0).map((r) => r.close()));
});

/** Prefixes in the table. */
const N = 200_000;
/** Hold time of every session, s; with `random: () => 0` the KEEPALIVE interval is a third of it. */
const HOLD_S = 3;
const KEEPALIVE_MS = (HOLD_S * 1000) / 3;
/** The session arms its host timer a millisecond past a deadline: a step this far past it fires it. */
const TOLERANCE_MS = 10;

/** N /32s, a MED per 256 of them: 782 attribute sets. */
const table = () =>
  Array.from({ length: N }, (_, i) => ({
    prefix: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`,
    med: i >> 8,
  }));

/** Sessions of `speakers` that went down, as "reason". */
function downsOf(...speakers: Speaker[]): string[] {
  const downs: string[] = [];
  for (const s of speakers)
    s.on('peerStateChanged', (e) => {
      if (e.from === 'Established') downs.push(e.reason ?? '');
    });
  return downs;
}

/** Runs `probe` once per turn of the event loop until it is true; throws after `timeoutMs`. */
async function eachTurnUntil(probe: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('a 200k-prefix table arrives whole and packed, and KEEPALIVEs keep both sessions up after it', async () => {
  const clock = new ManualClock();
  const timed = { clock: clock.now, timers: clock.timers, random: () => 0 };
  const a = await startSpeaker({ asn: 64512, routerId: '192.0.2.1', ...timed });
  const b = await startSpeaker({ asn: 64513, routerId: '192.0.2.2', ...timed });
  const downs = downsOf(a, b);
  a.setLocalRoutes(table());
  b.setPeers([{ address: '127.0.0.1', asn: 64512, passive: true, holdTime: HOLD_S }]);
  a.setPeers([{ address: '127.0.0.1', asn: 64513, port: portOf(b), holdTime: HOLD_S }]);
  await waitFor(() => peerOf(b)?.endOfRibReceived?.includes('ipv4-unicast'), 'End-of-RIB at B', 60_000);
  expect(peerOf(b)?.prefixes.received).toBe(N);
  expect(b.routes()).toHaveLength(N);
  expect(downs).toEqual([]);
  // Packed: prefixes of different MEDs cannot share an UPDATE, so at least one per attribute set
  // (782) and End-of-RIB; and far fewer than one per prefix.
  const updates = peerOf(a)?.messages.updatesOut ?? 0;
  expect(updates).toBeGreaterThan(782);
  expect(updates).toBeLessThan(2_000);
  expect(peerOf(b)?.messages.updatesIn).toBe(updates);

  // Four KEEPALIVE intervals, past the hold time, one at a time: each side's KEEPALIVE reaches the
  // other and restarts its hold timer.
  const start = clock.now();
  for (let step = 1; step <= 4; step++) {
    const inA = peerOf(a)?.messages.in ?? 0;
    const inB = peerOf(b)?.messages.in ?? 0;
    clock.advance(KEEPALIVE_MS + TOLERANCE_MS);
    await waitFor(
      () => (peerOf(a)?.messages.in ?? 0) > inA && (peerOf(b)?.messages.in ?? 0) > inB,
      `the KEEPALIVEs of step ${step}`,
    );
  }
  expect(clock.now() - start).toBeGreaterThan(HOLD_S * 1000);
  expect(downs).toEqual([]);
  expect(stateOf(a)).toBe('Established');
  expect(stateOf(b)).toBe('Established');
}, 90_000);

test('a KEEPALIVE that falls due while UPDATEs are still to be written goes out at once, ahead of them', async () => {
  const clock = new ManualClock();
  const { raw, port } = await RawPeer.listen();
  raws.push(raw);
  const a = await startSpeaker(
    {
      asn: 64512,
      routerId: '192.0.2.1',
      listen: null,
      clock: clock.now,
      timers: clock.timers,
      random: () => 0,
    },
    [{ address: '127.0.0.1', asn: 64513, port, holdTime: HOLD_S }],
  );
  a.setLocalRoutes(table());
  await waitFor(() => raw.received.some((m) => m.type === 'open'), 'the speaker OPEN');
  raw.sendOpen({ asn: 64513, routerId: '192.0.2.9', holdTime: HOLD_S });
  raw.sendKeepalive();
  // A's pump writes at most one run of UPDATEs per turn of the event loop, then yields (or waits
  // for the socket to drain): looking once per turn finds a turn where some of the table has been
  // handed to the socket and the rest has not.
  let advertised = 0;
  await eachTurnUntil(() => {
    advertised = peerOf(a)?.prefixes.advertised ?? 0;
    return advertised > 0;
  }, 'the first UPDATEs');
  expect(advertised).toBeLessThan(N);
  // The KEEPALIVE timer falls due (it runs from the last message sent, at this clock time).
  clock.advance(KEEPALIVE_MS + TOLERANCE_MS);
  await waitFor(
    () => raw.received.some((m) => m.type === 'update' && m.endOfRib !== undefined),
    'End-of-RIB at the raw peer',
    60_000,
  );
  const kinds = raw.received.map((m) =>
    m.type === 'update' ? (m.endOfRib !== undefined ? 'end-of-rib' : 'update') : m.type,
  );
  // OPEN and the KEEPALIVE that confirms it; then the table, with the timer's KEEPALIVE among its
  // UPDATEs, not after them; End-of-RIB last.
  expect(kinds.slice(0, 2)).toEqual(['open', 'keepalive']);
  const keepalive = kinds.indexOf('keepalive', 2);
  expect(keepalive).toBeGreaterThan(kinds.indexOf('update'));
  expect(keepalive).toBeLessThan(kinds.lastIndexOf('update'));
  expect(kinds.filter((k) => k === 'keepalive')).toHaveLength(2);
  expect(kinds.at(-1)).toBe('end-of-rib');
  const prefixes = raw.received.reduce(
    (n, m) => n + (m.type === 'update' ? m.reach.reduce((k, r) => k + r.prefixes.length, 0) : 0),
    0,
  );
  expect(prefixes).toBe(N);
  expect(stateOf(a)).toBe('Established');
}, 90_000);
