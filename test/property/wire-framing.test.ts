// Framing is invariant under any split of a valid byte stream: the same frames come out
// whether the stream arrives whole, in random chunks, or one byte at a time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../bgp/wire/frame-reader.ts';
import { encodeKeepalive, encodeRouteRefresh } from '../../bgp/wire/messages.ts';
import { encodeNotification } from '../../bgp/wire/notification.ts';
import { encodeOpen } from '../../bgp/wire/open.ts';
import { encodeEndOfRib, UpdateWriter } from '../../bgp/wire/update-writer.ts';
import { family, openMessage, prefixOf, u8, u16 } from '../unit/bgp/wire/arbitraries.ts';
import { opts } from '../unit/bgp/wire/helpers.ts';

const O = opts({ fourOctetAs: true });

const message: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(encodeKeepalive()),
  family.map((f) => encodeEndOfRib(f)),
  fc.record({ afi: u16, safi: u8 }).map((r) => encodeRouteRefresh(r)),
  fc
    .record({ code: u8, subcode: u8, data: fc.uint8Array({ maxLength: 100 }) })
    .map((n) => encodeNotification(n)),
  openMessage.map(({ type: _t, ...o }) => encodeOpen({ ...o, capabilities: o.capabilities.slice(0, 10) })),
  family.chain((fam) =>
    fc.array(prefixOf(fam), { minLength: 1, maxLength: 300 }).map((ps) => {
      const w = new UpdateWriter(O);
      w.beginReach({ origin: 0, asPath: [] }, fam, fam === 'ipv4-unicast' ? '192.0.2.1' : '2001:db8::1');
      for (const p of ps) if (!w.addPrefix(p)) break;
      return w.finish();
    }),
  ),
);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function frames(chunks: readonly Uint8Array[]): string[] {
  const r = new FrameReader();
  const out: string[] = [];
  for (const c of chunks) {
    r.push(c);
    for (let f = r.next(); f; f = r.next()) out.push(Buffer.from(f).toString('hex'));
  }
  expect(r.bufferedBytes).toBe(0);
  return out;
}

describe('FrameReader framing', () => {
  it('yields the same frames for any chunking of the stream', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (msgs, cuts) => {
          const stream = concat(msgs);
          const expected = msgs.map((m) => Buffer.from(m).toString('hex'));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            chunks.push(stream.subarray(prev, p));
            prev = p;
          }
          expect(frames([stream])).toEqual(expected);
          expect(frames(chunks)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('yields the same frames one byte at a time', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), (msgs) => {
        const stream = concat(msgs);
        const bytes: Uint8Array[] = [];
        for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
        expect(frames(bytes)).toEqual(msgs.map((m) => Buffer.from(m).toString('hex')));
      }),
      { numRuns: 50 },
    );
  });
});
