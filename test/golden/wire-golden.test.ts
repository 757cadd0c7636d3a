// Golden bytes captured from BIRD 2, FRR, GoBGP and ExaBGP (test/golden/captures, provenance in
// each file) through the STYLE rule 10 harness:
// - parse: every message decodes, as the options the two OPENs negotiated say, with no RFC 7606
//   complaint (real daemons send valid messages);
// - mirror: what we decode, we encode again, and decoding our bytes gives the same message
//   (exact bytes where our encoder's choices match the sender's: KEEPALIVE, NOTIFICATION,
//   ROUTE-REFRESH, IPv4 End-of-RIB);
// - chunk split: each side's byte stream cut at arbitrary points frames into the same messages.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BgpMessage,
  type CodecOptions,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  FrameReader,
  familyOf,
  type NlriBlock,
  negotiate,
  type OpenMessage,
  type UpdateMessage,
  UpdateWriter,
} from '../../bgp/wire/index.ts';
import { type Capture, type CaptureMessage, loadCaptures, messageBytes } from './load.ts';

const captures = loadCaptures();

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * Codec options on `connection` for what `from` sent: `receive` is the receiver's view of the two
 * OPENs (to decode), `send` the sender's (to encode the same message again; ADD-PATH is
 * directional, RFC 7911 §4).
 */
function optionsFor(
  capture: Capture,
  connection: number,
  from: string,
): { receive: CodecOptions; send: CodecOptions } {
  const opens = capture.messages.filter((m) => m.connection === connection && m.type === 1);
  const senderOpen = opens.find((m) => m.from === from);
  const receiverOpen = opens.find((m) => m.from !== from);
  if (!senderOpen || !receiverOpen) return { receive: DEFAULT_CODEC_OPTIONS, send: DEFAULT_CODEC_OPTIONS };
  const decode = (m: CaptureMessage) => decodeMessage(messageBytes(m), DEFAULT_CODEC_OPTIONS) as OpenMessage;
  return {
    receive: negotiate(decode(receiverOpen), decode(senderOpen)).codec,
    send: negotiate(decode(senderOpen), decode(receiverOpen)).codec,
  };
}

/** The attributes minus NEXT_HOP, which the IPv4 classic encoding carries and MP_REACH_NLRI hoists. */
function withoutNextHop(attrs: UpdateMessage['attributes']): UpdateMessage['attributes'] {
  const { nextHop: _nextHop, ...rest } = attrs;
  return rest;
}

/**
 * Encodes `u` again, one UPDATE per block, through both ways into the packer: prefix texts
 * (`addPrefix`) and the decoded PrefixList itself (`addPrefixAt`, what the RIB uses); the two
 * must give the same bytes.
 */
function reencodeUpdate(u: UpdateMessage, opts: CodecOptions): Uint8Array[] {
  const out: Uint8Array[] = [];
  const writer = new UpdateWriter(opts);
  const packed = new UpdateWriter(opts);
  const addAll = (block: NlriBlock) => {
    for (let i = 0; i < block.prefixes.length; i++) {
      expect(writer.addPrefix(block.prefixes.at(i), block.pathIds?.[i])).toBe(true);
      expect(packed.addPrefixAt(block.prefixes, i, block.pathIds?.[i])).toBe(true);
    }
    const bytes = writer.finish();
    expect(hex(packed.finish())).toBe(hex(bytes));
    out.push(bytes);
  };
  for (const block of u.withdrawn) {
    const family = familyOf(block.afi, block.safi);
    if (!family) continue;
    writer.beginWithdraw(family);
    packed.beginWithdraw(family);
    addAll(block);
  }
  for (const block of u.reach) {
    const family = familyOf(block.afi, block.safi);
    if (!family) continue;
    writer.beginReach(u.attributes, family, block.nextHop, block.linkLocalNextHop);
    packed.beginReach(u.attributes, family, block.nextHop, block.linkLocalNextHop);
    addAll(block);
  }
  return out;
}

describe('golden captures from real BGP daemons', () => {
  it('found captures from BIRD, FRR and GoBGP', () => {
    const daemons = new Set(
      captures.flatMap((c) => Object.values(c.provenance.peers).map((p) => p.daemon.split(' ')[0])),
    );
    for (const d of ['bird', 'frr', 'gobgp']) expect(daemons).toContain(d);
  });

  for (const capture of captures) {
    describe(capture.name, () => {
      it('parses every message with the negotiated options, without RFC 7606 complaints', () => {
        for (const m of capture.messages) {
          const msg = decodeMessage(messageBytes(m), optionsFor(capture, m.connection, m.from).receive);
          expect(msg.type, m.note).toBe(
            ['open', 'update', 'notification', 'keepalive', 'routeRefresh'][m.type - 1],
          );
          if (msg.type === 'update') {
            expect(msg.treatAsWithdraw, m.note).toBeUndefined();
            expect(msg.discarded ?? [], m.note).toEqual([]);
          }
        }
      });

      it('mirrors: our encoding of what we decoded decodes to the same message', () => {
        for (const m of capture.messages) {
          const { receive: opts, send } = optionsFor(capture, m.connection, m.from);
          const bytes = messageBytes(m);
          const msg: BgpMessage = decodeMessage(bytes, opts);
          switch (msg.type) {
            case 'open': {
              const again = decodeMessage(encodeOpen(msg), DEFAULT_CODEC_OPTIONS);
              expect(again, m.note).toEqual(msg);
              break;
            }
            case 'keepalive':
              expect(hex(encodeKeepalive())).toBe(m.hex);
              break;
            case 'routeRefresh':
              expect(hex(encodeRouteRefresh(msg))).toBe(m.hex);
              break;
            case 'notification':
              expect(hex(encodeNotification(msg)), m.note).toBe(m.hex);
              break;
            case 'update': {
              if (msg.endOfRib) {
                const again = decodeMessage(bytes, opts) as UpdateMessage;
                expect(again.endOfRib).toBe(msg.endOfRib);
                break;
              }
              const decodedAgain = reencodeUpdate(msg, send).map(
                (b) => decodeMessage(b, opts) as UpdateMessage,
              );
              const reach = decodedAgain.flatMap((u) => u.reach.map((r) => ({ ...r, attrs: u.attributes })));
              const withdrawn = decodedAgain.flatMap((u) => u.withdrawn);
              expect(
                withdrawn.map((w) => [w.afi, w.prefixes.toArray()]),
                m.note,
              ).toEqual(msg.withdrawn.map((w) => [w.afi, w.prefixes.toArray()]));
              expect(
                reach.map((r) => [r.afi, r.nextHop, r.linkLocalNextHop, r.prefixes.toArray()]),
                m.note,
              ).toEqual(msg.reach.map((r) => [r.afi, r.nextHop, r.linkLocalNextHop, r.prefixes.toArray()]));
              for (const r of reach)
                expect(withoutNextHop(r.attrs), m.note).toEqual(withoutNextHop(msg.attributes));
              break;
            }
          }
        }
      });

      it('frames each side of each connection identically under any split of the byte stream', () => {
        const streams = new Map<string, CaptureMessage[]>();
        for (const m of capture.messages) {
          const key = `${m.connection}/${m.from}`;
          streams.set(key, [...(streams.get(key) ?? []), m]);
        }
        for (const msgs of streams.values()) {
          const stream = Buffer.concat(msgs.map((m) => messageBytes(m)));
          fc.assert(
            fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 40 }), (cuts) => {
              const points = [...new Set(cuts)].sort((a, b) => a - b);
              const reader = new FrameReader();
              const frames: string[] = [];
              let at = 0;
              for (const p of [...points, stream.length]) {
                reader.push(stream.subarray(at, p));
                at = p;
                for (let f = reader.next(); f !== null; f = reader.next()) frames.push(hex(f));
              }
              expect(frames).toEqual(msgs.map((m) => m.hex));
            }),
            { numRuns: 50 },
          );
        }
      });
    });
  }
});
