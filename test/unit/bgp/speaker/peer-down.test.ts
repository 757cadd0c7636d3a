// Losing a full-table peer: the speaker removes its routes in slices (flusher.ts), yielding to
// the event loop between them, so that the other sessions' keepalives and hold timers are not
// held up by one long walk of the Loc-RIB.
// - The RibFlusher on an injected clock: each RIB flush step costs STEP_COST_MS on it, so each
//   turn's work is counted exactly, with no timing: the removal takes several turns, each does
//   as many steps as fit in FLUSH_SLICE_MS and no more, and the peer is reported gone at the end.
// - A speaker whose peer with 500k prefixes goes down removes every one of them.
// How long the event loop waits while a full table goes away is a speed figure: the benchmarks
// measure it, not this test.
import { afterEach, describe, expect, test } from 'vitest';
import { FLUSH_SLICE_MS, FLUSH_STEP, RibFlusher } from '../../../../bgp/speaker/flusher.ts';
// The benchmark's feed: N /24s in packed UPDATEs with 1000 attribute sets.
import { encodeFeed } from '../../../bench/bgp/encode.ts';
import { prefixText, SENDER_ASN } from '../../../bench/bgp/feed.ts';
import { announce, makeRib } from '../rib/helpers.ts';
import { peerOf, portOf, RawPeer, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

const raws: RawPeer[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(raws.splice(0).map((r) => r.close()));
});

describe('RibFlusher', () => {
  test('removes a peer over several event-loop turns, each within one slice of work', async () => {
    const STEP_COST_MS = 2;
    const PEER = '10.0.0.1';
    const prefixes = Array.from({ length: 16 * FLUSH_STEP }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const { rib } = makeRib([{ id: PEER }]);
    rib.applyUpdate(PEER, announce({ prefixes }));
    expect(rib.getDest(prefixes[0] as string)).toBeDefined();

    let clock = 0;
    const perRun: number[] = [];
    let inRun = false;
    const flush = rib.flush.bind(rib);
    rib.flush = (budget: number) => {
      // One flusher run is one setImmediate callback: a microtask marks where it ends.
      if (!inRun) {
        inRun = true;
        perRun.push(0);
        queueMicrotask(() => {
          inRun = false;
        });
      }
      perRun[perRun.length - 1]!++;
      clock += STEP_COST_MS;
      return flush(budget);
    };
    const removed: string[] = [];
    const gone = new Promise<void>((resolve) => {
      const flusher = new RibFlusher({
        rib,
        onRemoved: (id) => {
          removed.push(id);
          resolve();
        },
        now: () => clock,
      });
      flusher.removePeer(PEER);
    });
    // Nothing is removed before the caller's turn ends.
    expect(perRun).toEqual([]);
    expect(removed).toEqual([]);
    await gone;

    const stepsPerSlice = Math.ceil(FLUSH_SLICE_MS / STEP_COST_MS);
    expect(perRun.length).toBeGreaterThan(1);
    expect(perRun.slice(0, -1).every((n) => n === stepsPerSlice)).toBe(true);
    expect(perRun.at(-1)).toBeLessThanOrEqual(stepsPerSlice);
    expect(removed).toEqual([PEER]);
    expect(rib.hasPeer(PEER)).toBe(false);
    expect(prefixes.filter((p) => rib.getDest(p)?.best !== undefined)).toEqual([]);
  });
});

describe('a full-table peer going down', () => {
  const N = 500_000;

  test(`removes all ${N} of its prefixes`, async () => {
    const speaker = await startSpeaker({ asn: 64512, routerId: '192.0.2.1' }, [
      { address: '127.0.0.1', asn: SENDER_ASN, passive: true, holdTime: 240, families: ['ipv4-unicast'] },
    ]);
    const raw = await RawPeer.connect(portOf(speaker));
    raws.push(raw);
    raw.sendOpen({
      asn: SENDER_ASN,
      routerId: '192.0.2.9',
      holdTime: 240,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'fourOctetAs', asn: SENDER_ASN },
      ],
    });
    await waitFor(() => raw.received.some((m) => m.type === 'open'), 'the speaker OPEN');
    raw.sendKeepalive();
    await waitFor(() => stateOf(speaker) === 'Established', 'Established');

    const feed = encodeFeed({ n: N, attrSets: 1000, nextHop: '127.0.0.1' });
    for (const chunk of feed.chunks) raw.send(chunk);
    await waitFor(() => peerOf(speaker)?.prefixes.accepted === N, `${N} prefixes accepted`, 30_000);
    expect(speaker.routes({ prefix: prefixText(N - 1) })).toHaveLength(1);

    raw.socket?.destroy();
    // Removal runs in insertion order: the first and the last prefix bracket the walk.
    await waitFor(
      () => speaker.routes({ prefix: prefixText(0) }).length === 0,
      'the first prefix removed',
      30_000,
    );
    await waitFor(
      () => speaker.routes({ prefix: prefixText(N - 1) }).length === 0,
      'the last prefix removed',
      30_000,
    );
    expect(speaker.routes()).toEqual([]);
    expect(peerOf(speaker)?.prefixes.received).toBe(0);
  }, 60_000);
});
