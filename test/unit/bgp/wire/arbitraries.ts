// fast-check arbitraries for wire values, shared by the property tests in test/property/wire-*.
import fc from 'fast-check';
import { formatIpv4, formatIpv6 } from '../../../../bgp/wire/prefix.ts';
import type {
  AsPathSegment,
  AsPathSegmentTypeCode,
  Capability,
  CodecOptions,
  Family,
  OpenMessage,
  PathAttributes,
} from '../../../../bgp/wire/types.ts';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const bytes = (maxLength: number) => fc.uint8Array({ maxLength });

export const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpv4(b, 0));
/** An IPv4 unicast host address, valid as a NEXT_HOP (RFC 4271 §6.3). */
export const ipv4Host = fc
  .tuple(fc.integer({ min: 1, max: 223 }), u8, u8, u8)
  .map(([a, b, c, d]) => `${a}.${b}.${c}.${d}`);
export const ipv6 = fc
  .oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    // Mostly zeros, so that "::" compression and mapped addresses come up.
    fc
      .array(fc.constantFrom(0, 0, 0, 1, 0xff, 0x20), { minLength: 16, maxLength: 16 })
      .map((a) => Uint8Array.from(a)),
  )
  .map((b) => formatIpv6(b, 0));

function mask(b: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(b);
  for (let i = 0; i < out.length; i++) {
    const keep = length - i * 8;
    out[i] = (out[i] as number) & (keep >= 8 ? 0xff : keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff);
  }
  return out;
}

export const prefix4 = fc
  .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
  .map(([b, len]) => `${formatIpv4(mask(b, len), 0)}/${len}`);
export const prefix6 = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
  .map(([b, len]) => `${formatIpv6(mask(b, len), 0)}/${len}`);
export const prefixOf = (f: Family) => (f === 'ipv4-unicast' ? prefix4 : prefix6);

/**
 * An ASN that is often 2-octet, sometimes AS_TRANS, often 4-octet; never 0, which no AS path
 * or aggregator may carry (RFC 7607 §2: the decoder refuses it).
 */
export const asn = fc.oneof(
  fc.integer({ min: 1, max: 65535 }),
  fc.constant(23456),
  fc.integer({ min: 1, max: 0xffffffff }),
);

export const segment: fc.Arbitrary<AsPathSegment> = fc.record({
  type: fc.constantFrom<AsPathSegmentTypeCode>(1, 2, 3, 4),
  asns: fc.array(asn, { minLength: 1, maxLength: 10 }),
});

const KNOWN_ATTRS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32]);

export const pathAttributes: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
    asPath: fc.array(segment, { maxLength: 5 }),
    med: u32,
    localPref: u32,
    atomicAggregate: fc.constant(true),
    aggregator: fc.record({ asn, address: ipv4 }),
    communities: fc.array(u32, { minLength: 1, maxLength: 10 }),
    originatorId: ipv4,
    clusterList: fc.array(ipv4, { minLength: 1, maxLength: 5 }),
    extendedCommunities: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), {
      minLength: 1,
      maxLength: 5,
    }),
    largeCommunities: fc.array(fc.record({ globalAdmin: u32, localData1: u32, localData2: u32 }), {
      minLength: 1,
      maxLength: 5,
    }),
    unknown: fc.uniqueArray(
      fc.record({
        flags: fc.constantFrom(0xc0, 0xe0),
        typeCode: fc.integer({ min: 1, max: 255 }).filter((t) => !KNOWN_ATTRS.has(t)),
        value: bytes(300),
      }),
      { minLength: 1, maxLength: 3, selector: (u) => u.typeCode },
    ),
  },
  { requiredKeys: ['origin', 'asPath'] },
);

/**
 * RFC 6793 makes some attribute sets lossy on 2-octet sessions (by design): confederation
 * segments carry no AS4 twin, and an AGGREGATOR with a real 2-octet AS voids AS4_PATH.
 */
export function roundTripsOn2Octet(a: PathAttributes): boolean {
  const path = a.asPath ?? [];
  let sawNonConfed = false;
  for (const s of path) {
    const confed = s.type === 3 || s.type === 4;
    if (confed && (sawNonConfed || s.asns.some((x) => x > 0xffff))) return false;
    if (!confed) sawNonConfed = true;
  }
  const wide = path.some((s) => s.type <= 2 && s.asns.some((x) => x > 0xffff));
  if (wide && a.aggregator !== undefined && a.aggregator.asn <= 0xffff && a.aggregator.asn !== 23456)
    return false;
  return true;
}

export const family = fc.constantFrom<Family>('ipv4-unicast', 'ipv6-unicast');

export function codecOptions(over: Partial<CodecOptions> = {}): fc.Arbitrary<CodecOptions> {
  return fc
    .record({
      fourOctetAs: fc.boolean(),
      extendedMessages: fc.boolean(),
      addPath: fc.subarray<Family>(['ipv4-unicast', 'ipv6-unicast']),
      extendedNextHopIpv4: fc.boolean(),
    })
    .map(({ addPath, ...rest }) => ({
      ...rest,
      addPathReceive: new Set(addPath),
      addPathSend: new Set(addPath),
      ...over,
    }));
}

const KNOWN_CAPS = new Set([1, 2, 5, 6, 64, 65, 69, 70, 71, 73, 128]);
const text = fc.string({ unit: fc.constantFrom('a', 'Z', '9', '-', '.', 'é', '€', '😀'), maxLength: 10 });

export const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: u16, safi: u8 }),
  fc.constant({ kind: 'routeRefresh' as const }),
  fc.constant({ kind: 'enhancedRouteRefresh' as const }),
  fc.constant({ kind: 'extendedMessage' as const }),
  fc.record({ kind: fc.constant('fourOctetAs' as const), asn: u32 }),
  fc.record({
    kind: fc.constant('gracefulRestart' as const),
    restartState: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: u8, forwardingPreserved: fc.boolean() }), {
      maxLength: 8,
    }),
  }),
  fc.record({
    kind: fc.constant('longLivedGracefulRestart' as const),
    families: fc.array(
      fc.record({
        afi: u16,
        safi: u8,
        forwardingPreserved: fc.boolean(),
        staleTime: fc.integer({ min: 0, max: 0xffffff }),
      }),
      { maxLength: 8 },
    ),
  }),
  fc.record({
    kind: fc.constant('extendedNextHop' as const),
    entries: fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({
    kind: fc.constant('addPath' as const),
    entries: fc.array(
      fc.record({
        afi: u16,
        safi: u8,
        mode: fc.constantFrom('receive' as const, 'send' as const, 'both' as const),
      }),
      {
        minLength: 1,
        maxLength: 5,
      },
    ),
  }),
  fc.record({ kind: fc.constant('fqdn' as const), hostname: text, domain: text }),
  fc.record({
    kind: fc.constant('unknown' as const),
    code: u8.filter((c) => !KNOWN_CAPS.has(c)),
    value: bytes(20),
  }),
);

export const openMessage: fc.Arbitrary<OpenMessage> = fc.record({
  type: fc.constant('open' as const),
  // Version 4 only: decodeOpen answers any other with 2/1 before reading further (RFC 4271 §6.2).
  version: fc.constant(4),
  myAsn: u16,
  holdTime: u16,
  bgpId: ipv4,
  capabilities: fc.array(capability, { maxLength: 40 }),
});
