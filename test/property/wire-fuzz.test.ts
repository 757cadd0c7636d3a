// Hostile input: arbitrary bytes and mutated valid messages, through FrameReader and decodeMessage,
// give a message or a WireError, never any other exception, so bad input never crashes the process.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../bgp/errors.ts';
import { FrameReader } from '../../bgp/wire/frame-reader.ts';
import { decodeMessage, encodeKeepalive, encodeRouteRefresh } from '../../bgp/wire/messages.ts';
import { encodeNotification } from '../../bgp/wire/notification.ts';
import { encodeOpen } from '../../bgp/wire/open.ts';
import type { CodecOptions } from '../../bgp/wire/types.ts';
import { encodeEndOfRib, UpdateWriter } from '../../bgp/wire/update-writer.ts';
import {
  codecOptions,
  family,
  openMessage,
  pathAttributes,
  prefixOf,
  u8,
  u16,
  u32,
} from '../unit/bgp/wire/arbitraries.ts';

/** Feeds `stream` and decodes every frame; returns how far it got. */
function run(
  stream: Uint8Array,
  opts: CodecOptions,
  maxLength: number,
): { frames: number; error?: WireError } {
  const reader = new FrameReader(maxLength);
  let frames = 0;
  try {
    reader.push(stream);
    for (let f = reader.next(); f; f = reader.next()) {
      decodeMessage(f, opts);
      frames++;
    }
    return { frames };
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    expect(err.notifyCode).toBeGreaterThanOrEqual(1);
    expect(err.notifyCode).toBeLessThanOrEqual(7);
    return { frames, error: err };
  }
}

const marker = new Uint8Array(16).fill(0xff);

/** Valid messages of every type, encoded by the codec. */
const validMessage: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(encodeKeepalive()),
  family.map((f) => encodeEndOfRib(f)),
  fc.record({ afi: u16, safi: u8 }).map((r) => encodeRouteRefresh({ ...r, subtype: 0 })),
  fc
    .record({ code: u8, subcode: u8, data: fc.uint8Array({ maxLength: 40 }) })
    .map((n) => encodeNotification(n)),
  openMessage.map(({ type: _t, ...o }) => encodeOpen({ ...o, capabilities: o.capabilities.slice(0, 8) })),
  fc
    .tuple(codecOptions({ fourOctetAs: true }), family, pathAttributes, fc.boolean())
    .chain(([opts, fam, attrs, withdraw]) =>
      fc
        .array(fc.record({ prefix: prefixOf(fam), pathId: u32 }), { minLength: 1, maxLength: 20 })
        .map((ps) => {
          const w = new UpdateWriter(opts);
          if (withdraw) w.beginWithdraw(fam);
          else w.beginReach(attrs, fam, fam === 'ipv4-unicast' ? '192.0.2.1' : '2001:db8::1', undefined);
          for (const p of ps) w.addPrefix(p.prefix, p.pathId);
          return w.finish();
        }),
    ),
);

const mutation = fc.record({
  edits: fc.array(fc.record({ at: fc.nat(), value: u8 }), { minLength: 1, maxLength: 6 }),
  truncate: fc.option(fc.nat(), { nil: undefined }),
  fixLength: fc.boolean(),
});

describe('hostile input', () => {
  it('arbitrary bytes give messages or a WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), codecOptions(), (b, opts) => {
        run(b, opts, 4096);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bodies behind a valid marker give messages or a WireError', () => {
    fc.assert(
      fc.property(
        u16,
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ maxLength: 300 }),
        codecOptions(),
        (len, type, body, opts) => {
          const m = new Uint8Array(19 + body.length);
          m.set(marker);
          m[16] = len >>> 8;
          m[17] = len & 0xff;
          m[18] = type;
          m.set(body, 19);
          run(m, opts, 65535);
          // And with a consistent length, so decoding goes past the header.
          m[16] = m.length >>> 8;
          m[17] = m.length & 0xff;
          run(m, opts, 65535);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('mutated valid messages give messages or a WireError', () => {
    fc.assert(
      fc.property(validMessage, mutation, codecOptions(), (valid, mut, opts) => {
        let m = Uint8Array.from(valid);
        for (const e of mut.edits) {
          // Mostly past the marker, where the interesting parsing happens.
          const at = 16 + (e.at % Math.max(1, m.length - 16));
          m[at] = e.value;
        }
        if (mut.truncate !== undefined) m = m.slice(0, Math.max(19, m.length - (mut.truncate % m.length)));
        if (mut.fixLength) {
          m[16] = m.length >>> 8;
          m[17] = m.length & 0xff;
        }
        run(m, opts, 65535);
      }),
      { numRuns: 600 },
    );
  });

  it('unmutated valid messages decode', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        const r = run(
          m,
          {
            fourOctetAs: true,
            extendedMessages: false,
            addPathReceive: new Set(),
            addPathSend: new Set(),
            extendedNextHopIpv4: false,
          },
          4096,
        );
        // UPDATEs built with ADD-PATH may not parse without it, but never with another error class.
        if (r.error === undefined) expect(r.frames).toBe(1);
      }),
      { numRuns: 200 },
    );
  });
});
