// Losing a full-table peer must not stall the event loop (DESIGN.md "What fast means here": the
// loop never stalls long enough to miss a keepalive). Removing a 500k-prefix session used to
// walk the whole Loc-RIB in one go (250 ms max event-loop delay in this test, ~400 ms at 1M); the speaker now removes it in
// 5 ms slices (flusher.ts). This measures liveness, not speed: the bound is generous for a
// shared 2-core machine, and the synchronous walk it replaces exceeded it at 1M prefixes.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, test } from 'vitest';
// The benchmark's feed: N /24s in packed UPDATEs with 1000 attribute sets.
import { encodeFeed } from '../../../bench/bgp/encode.ts';
import { prefixText, SENDER_ASN } from '../../../bench/bgp/feed.ts';
import { peerOf, portOf, RawPeer, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

const N = 500_000;
const raws: RawPeer[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(raws.splice(0).map((r) => r.close()));
});

describe('a full-table peer going down', () => {
  test(`removing ${N} prefixes keeps the event loop responsive, and removes them all`, async () => {
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

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    // The monitor records the gap between two of its timer callbacks: a stall before the first
    // one would go unseen, so let it take a few samples first.
    await new Promise((r) => setTimeout(r, 50));
    const downAt = performance.now();
    raw.socket?.destroy();
    // Removal runs in insertion order: the first and the last prefix bracket the walk.
    const first = prefixText(0);
    const last = prefixText(N - 1);
    await waitFor(() => speaker.routes({ prefix: first }).length === 0, 'the first prefix removed', 30_000);
    await waitFor(() => speaker.routes({ prefix: last }).length === 0, 'the last prefix removed', 30_000);
    const seconds = (performance.now() - downAt) / 1000;
    delay.disable();
    const maxMs = delay.max / 1e6;
    const p99Ms = delay.percentile(99) / 1e6;
    // Printed for the record (vitest shows it with --reporter=verbose or on failure).
    console.log(
      `peer down, ${N} prefixes: ${seconds.toFixed(2)} s, loop delay p99 ${p99Ms} ms, max ${maxMs} ms`,
    );
    expect(maxMs).toBeLessThan(200);
    expect(speaker.routes()).toEqual([]);
  }, 60_000);
});
