// Golden bytes captured from BIRD 2, FRR, GoBGP and ExaBGP (test/golden/captures, provenance in
// each file), decoded by bgp/wire:
// - values: every OPEN, UPDATE, ROUTE-REFRESH and NOTIFICATION decodes to what the daemons were
//   configured and asked to send (sent.ts, written by hand from the provenance): AS, hold time,
//   identifier, capabilities, each prefix with its next hop, path identifier and attributes,
//   the withdrawals, End-of-RIBs, refresh subtypes and shutdown communications;
// - negotiation: negotiate() on the two real OPENs agrees with what the configs imply;
// - parse: every message decodes with no RFC 7606 complaint (real daemons send valid messages);
// - mirror: what we decode, we encode again, and decoding our bytes gives the same message
//   (exact bytes where our encoder's choices match the sender's: KEEPALIVE, NOTIFICATION,
//   ROUTE-REFRESH, End-of-RIB);
// - chunk split: each side's byte stream cut at arbitrary points frames into the same messages.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BgpMessage,
  type CodecOptions,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  type Family,
  FrameReader,
  familyOf,
  type NlriBlock,
  negotiate,
  type OpenMessage,
  type UpdateMessage,
  UpdateWriter,
} from '../../bgp/wire/index.ts';
import { type Capture, type CaptureMessage, loadCaptures, messageBytes } from './load.ts';
import { SENT, type SentCapture } from './sent.ts';

const captures = loadCaptures();

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function sentOf(capture: Capture): SentCapture {
  const sent = SENT[capture.name];
  if (!sent) throw new Error(`${capture.name}: no entry in sent.ts`);
  return sent;
}

/** The label of the other daemon of the capture. */
function peerOf(capture: Capture, from: string): string {
  const other = Object.keys(capture.provenance.peers).find((l) => l !== from);
  if (!other) throw new Error(`${capture.name}: no peer of ${from}`);
  return other;
}

/**
 * Codec options for what `from` sent, from the hand-written negotiation in sent.ts: `receive` is
 * the receiver's view (to decode), `send` the sender's (to encode the same message again;
 * ADD-PATH is directional, RFC 7911 §4).
 */
function optionsFor(capture: Capture, from: string): { receive: CodecOptions; send: CodecOptions } {
  const n = sentOf(capture).negotiated;
  const bySender = new Set<Family>(n.addPathSentBy[from] ?? []);
  const byReceiver = new Set<Family>(n.addPathSentBy[peerOf(capture, from)] ?? []);
  const base = {
    fourOctetAs: n.fourOctetAs,
    extendedMessages: n.extendedMessages,
    extendedNextHopIpv4: n.extendedNextHopIpv4,
    ebgp: n.ebgp,
  };
  return {
    receive: { ...base, addPathReceive: bySender, addPathSend: byReceiver },
    send: { ...base, addPathReceive: byReceiver, addPathSend: bySender },
  };
}

/** Every message `from` sent, decoded with the receiver's options. */
function decodedFrom(capture: Capture, from: string): BgpMessage[] {
  const { receive } = optionsFor(capture, from);
  return capture.messages.filter((m) => m.from === from).map((m) => decodeMessage(messageBytes(m), receive));
}

/** A capability as comparable data: an unknown one's bytes as hex. */
function comparableCapability(c: OpenMessage['capabilities'][number]): unknown {
  return c.kind === 'unknown' ? { kind: 'unknown', code: c.code, value: hex(c.value) } : c;
}

const byJson = (a: unknown, b: unknown): number => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
const familyOfPrefix = (prefix: string): number => (prefix.includes(':') ? 2 : 1);

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
  it('found captures from BIRD, FRR and GoBGP, each with its hand-written expectations', () => {
    const daemons = new Set(
      captures.flatMap((c) => Object.values(c.provenance.peers).map((p) => p.daemon.split(' ')[0])),
    );
    for (const d of ['bird', 'frr', 'gobgp']) expect(daemons).toContain(d);
    expect(captures.map((c) => c.name).sort()).toEqual(Object.keys(SENT).sort());
  });

  for (const capture of captures) {
    describe(capture.name, () => {
      const sent = SENT[capture.name];
      const labels = Object.keys(capture.provenance.peers);

      it('names the same two daemons in the capture and in sent.ts', () => {
        expect(Object.keys(sent?.senders ?? {}).sort()).toEqual([...labels].sort());
      });

      it('negotiate() on the two OPENs agrees with what the configs imply', () => {
        for (const from of labels) {
          const open = (label: string) =>
            decodedFrom(capture, label).find((m): m is OpenMessage => m.type === 'open');
          const senderOpen = open(from);
          const receiverOpen = open(peerOf(capture, from));
          if (!senderOpen || !receiverOpen) throw new Error(`${capture.name}: OPENs missing`);
          expect(negotiate(receiverOpen, senderOpen).codec, from).toEqual(optionsFor(capture, from).receive);
        }
      });

      it('OPEN: My AS, hold time, BGP identifier and every capability as configured', () => {
        for (const [from, want] of Object.entries(sentOf(capture).senders)) {
          const opens = decodedFrom(capture, from).filter((m): m is OpenMessage => m.type === 'open');
          expect(opens.length, from).toBe(1);
          const got = opens[0]!;
          expect({ myAsn: got.myAsn, holdTime: got.holdTime, bgpId: got.bgpId }, from).toEqual({
            myAsn: want.open.myAsn,
            holdTime: want.open.holdTime,
            bgpId: want.open.bgpId,
          });
          expect(got.version, from).toBe(4);
          expect(got.capabilities.map(comparableCapability).sort(byJson), from).toEqual(
            [...want.open.capabilities].sort(byJson),
          );
        }
      });

      it('UPDATE: every announced prefix with its next hop, path id and attributes', () => {
        for (const [from, want] of Object.entries(sentOf(capture).senders)) {
          const seen = new Set<string>();
          for (const u of decodedFrom(capture, from)) {
            if (u.type !== 'update') continue;
            for (const block of u.reach) {
              for (let i = 0; i < block.prefixes.length; i++) {
                const prefix = block.prefixes.at(i);
                const where = `${from} announces ${prefix}`;
                const route = want.announced.find((r) => r.prefix === prefix);
                expect(route, `${where}: not in sent.ts`).toBeDefined();
                if (!route) continue;
                seen.add(prefix);
                expect([block.afi, block.safi], where).toEqual([familyOfPrefix(prefix), 1]);
                expect(block.nextHop, where).toBe(route.nextHop);
                expect(block.linkLocalNextHop, where).toBe(route.linkLocalNextHop);
                expect(block.pathIds?.[i], where).toBe(route.pathId);
                // NEXT_HOP is an attribute only in the classic IPv4 encoding.
                expect(u.attributes.nextHop, where).toBe(route.mp ? undefined : route.nextHop);
                expect(withoutNextHop(u.attributes), where).toEqual(route.attributes);
              }
            }
          }
          expect([...seen].sort(), `${from}: announced prefixes`).toEqual(
            want.announced.map((r) => r.prefix).sort(),
          );
        }
      });

      it('UPDATE: the withdrawals (with path ids) and the End-of-RIB families', () => {
        for (const [from, want] of Object.entries(sentOf(capture).senders)) {
          const withdrawn: { prefix: string; pathId?: number }[] = [];
          const endOfRib = new Set<string>();
          for (const u of decodedFrom(capture, from)) {
            if (u.type !== 'update') continue;
            if (u.endOfRib) endOfRib.add(u.endOfRib);
            for (const block of u.withdrawn) {
              for (let i = 0; i < block.prefixes.length; i++) {
                const prefix = block.prefixes.at(i);
                expect(block.afi, `${from} withdraws ${prefix}`).toBe(familyOfPrefix(prefix));
                const pathId = block.pathIds?.[i];
                withdrawn.push(pathId === undefined ? { prefix } : { prefix, pathId });
              }
            }
          }
          expect(withdrawn.sort(byJson), `${from}: withdrawn`).toEqual([...want.withdrawn].sort(byJson));
          expect([...endOfRib].sort(), `${from}: End-of-RIB`).toEqual([...want.endOfRib].sort());
        }
      });

      it('ROUTE-REFRESH subtypes and NOTIFICATIONs with their shutdown communication', () => {
        for (const [from, want] of Object.entries(sentOf(capture).senders)) {
          const msgs = decodedFrom(capture, from);
          expect(
            msgs.flatMap((m) =>
              m.type === 'routeRefresh' ? [{ afi: m.afi, safi: m.safi, subtype: m.subtype }] : [],
            ),
            from,
          ).toEqual(want.routeRefresh);
          expect(
            msgs.flatMap((m) =>
              m.type === 'notification'
                ? [
                    {
                      code: m.code,
                      subcode: m.subcode,
                      ...(m.shutdownMessage === undefined ? {} : { shutdownMessage: m.shutdownMessage }),
                      dataText: Buffer.from(m.data).toString('utf8'),
                    },
                  ]
                : [],
            ),
            from,
          ).toEqual(want.notifications);
        }
      });

      it('parses every message with the negotiated options, without RFC 7606 complaints', () => {
        for (const m of capture.messages) {
          const msg = decodeMessage(messageBytes(m), optionsFor(capture, m.from).receive);
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
          const { receive: opts, send } = optionsFor(capture, m.from);
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
                // RFC 4724 §2 leaves one form per family, so our End-of-RIB is the sender's bytes.
                expect(hex(encodeEndOfRib(msg.endOfRib, send)), m.note).toBe(m.hex);
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
