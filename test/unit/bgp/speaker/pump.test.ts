// The output pump against a fake connection: it writes only while the connection can take more,
// resumes on drain, yields between runs, packs shared attributes, and ends with End-of-RIB.
import { expect, test } from 'vitest';
import { Rib } from '../../../../bgp/rib/index.ts';
import { ExportPump, TAKE_BUDGET, TAKES_PER_RUN } from '../../../../bgp/speaker/pump.ts';
import { DEFAULT_CODEC_OPTIONS, decodeMessage } from '../../../../bgp/wire/index.ts';
import { waitFor } from './helpers.ts';

class FakeTarget {
  canWrite = true;
  /** After this many bytes the "socket buffer" is full until `drain()`. */
  readonly highWater: number;
  buffered = 0;
  prefixes = 0;
  updates = 0;
  endOfRib = 0;
  updatesSentCalls = 0;
  corked = 0;
  constructor(highWater: number) {
    this.highWater = highWater;
  }
  write(frame: Uint8Array): boolean {
    this.#count(frame);
    this.buffered += frame.length;
    if (this.buffered >= this.highWater) this.canWrite = false;
    return this.canWrite;
  }
  writeControl(frame: Uint8Array): void {
    this.#count(frame);
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {}
  updatesSent(): void {
    this.updatesSentCalls++;
  }
  drain(): void {
    this.buffered = 0;
    this.canWrite = true;
  }
  #count(frame: Uint8Array): void {
    const m = decodeMessage(frame, { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true });
    if (m.type !== 'update') return;
    this.updates++;
    if (m.endOfRib !== undefined) this.endOfRib++;
    for (const b of m.reach) this.prefixes += b.prefixes.length;
  }
}

test('writes while the socket can take it, resumes on drain, yields, ends with End-of-RIB', async () => {
  const N = 100_000;
  const target = new FakeTarget(64 * 1024);
  let pump: ExportPump | undefined;
  const rib = new Rib({ routerId: '192.0.2.1', onExportPending: (_id, family) => pump?.schedule(family) });
  rib.addPeer({
    id: 'p',
    address: '192.0.2.2',
    asn: 64513,
    localAsn: 64512,
    families: ['ipv4-unicast'],
    localAddressV4: '192.0.2.1',
  });
  // 100 attribute sets in runs of 1000 prefixes.
  rib.setLocalRoutes(
    Array.from({ length: N }, (_, i) => ({
      prefix: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`,
      med: Math.floor(i / 1000),
    })),
  );
  pump = new ExportPump({
    rib,
    ribId: 'p',
    target,
    codec: { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true },
    onEncodeError: (m) => {
      throw new Error(m);
    },
  });
  rib.peerUp('p', { routerId: '192.0.2.2' });
  // Nothing is written synchronously: the pump runs from setImmediate.
  expect(target.updates).toBe(0);
  await waitFor(() => !target.canWrite, 'the buffer to fill');
  // It stopped at the high-water mark, overshooting by at most one batch.
  const afterFirst = target.prefixes;
  expect(afterFirst).toBeGreaterThan(0);
  expect(afterFirst).toBeLessThanOrEqual(TAKE_BUDGET * TAKES_PER_RUN);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  expect(target.prefixes).toBe(afterFirst);
  // Drain until done.
  let drains = 0;
  while (target.endOfRib === 0 && drains < 10_000) {
    target.drain();
    pump.drained();
    await new Promise((r) => setImmediate(r));
    drains++;
  }
  expect(target.prefixes).toBe(N);
  expect(target.endOfRib).toBe(1);
  expect(drains).toBeGreaterThan(1);
  // Packed: 100 attribute sets; each 4096-byte UPDATE holds ~800 /32s.
  expect(target.updates).toBeLessThan(N / 400);
  expect(target.updatesSentCalls).toBeGreaterThan(0);

  // A later change is pulled by itself (onExportPending), withdrawals included.
  const before = target.updates;
  rib.setLocalRoutes([]);
  await waitFor(() => {
    target.drain();
    pump?.drained();
    return target.updates > before && rib.peerStats('p').advertised === 0;
  }, 'the withdrawals');
  pump.stop();
});
