// Fuzz cases: a valid OPEN or UPDATE for one of the two fuzzing sessions, then one to three
// mutations of its fields (lengths, flags, type codes, repeats, AS paths, MP_REACH_NLRI /
// MP_UNREACH_NLRI, communities, ORIGIN, NEXT_HOP, NLRI, missing attributes, the header).
// Every UPDATE case comes with a valid pre-announcement of the prefixes it is about, so that a
// treat-as-withdraw shows as a route that disappears. A case depends only on (seed, index).
import {
  AS_TRANS,
  type Attr,
  AttrCode,
  concat,
  encodePrefix,
  Flag,
  frame,
  HEADER_LENGTH,
  ipv4Bytes,
  ipv6Bytes,
  MAX_LENGTH,
  MessageType,
  type OptionalParameter,
  openBody,
  prefixBytes,
  type UpdateParts,
  u16,
  u32,
  updateBody,
} from './bytes.ts';
import { caseRng, type Rng } from './rng.ts';

export type PeerName = 'ebgp' | 'ibgp';

/** One of the fuzzer's two sessions with the speaker. */
export interface PeerProfile {
  readonly name: PeerName;
  readonly asn: number;
  readonly address: string;
  readonly routerId: string;
  /** Second octets of the peer's IPv4 prefixes: 10.A.slot.0/24 and 10.B.slot.0/24. */
  readonly v4: readonly [number, number];
  /** Third group of the peer's IPv6 prefixes: 2001:db8:G:slot::/64. */
  readonly v6: number;
  /** The prefix whose MED marks how far the speaker has read this session. */
  readonly sentinel: string;
}

export interface SpeakerProfile {
  readonly asn: number;
  readonly routerId: string;
  readonly address: string;
}

export const SPEAKER: SpeakerProfile = { asn: 64512, routerId: '198.51.100.1', address: '198.51.100.1' };
export const SUBNET: readonly [Uint8Array, number] = [ipv4Bytes('198.51.100.0'), 24];

export const PEERS: Readonly<Record<PeerName, PeerProfile>> = {
  ebgp: {
    name: 'ebgp',
    asn: 65001,
    address: '198.51.100.2',
    routerId: '198.51.100.2',
    v4: [64, 65],
    v6: 0x64,
    sentinel: '10.127.255.0/24',
  },
  ibgp: {
    name: 'ibgp',
    asn: 64512,
    address: '198.51.100.3',
    routerId: '198.51.100.3',
    v4: [96, 97],
    v6: 0x96,
    sentinel: '10.127.254.0/24',
  },
};

/** Consecutive cases go to one session in blocks of this many. */
export const BLOCK = 24;
/** Prefix slots per session; a slot's prefixes are re-announced by each case that uses it. */
export const SLOTS = 256;

export interface UpdateCase {
  readonly kind: 'update';
  readonly index: number;
  readonly peer: PeerName;
  readonly mutations: readonly string[];
  /** A valid UPDATE announcing the case's prefixes, sent first. */
  readonly pre: Uint8Array;
  readonly bytes: Uint8Array;
}

export interface OpenCase {
  readonly kind: 'open';
  readonly index: number;
  readonly peer: PeerName;
  readonly mutations: readonly string[];
  readonly bytes: Uint8Array;
}

export type FuzzCase = UpdateCase | OpenCase;

export function peerOfCase(index: number): PeerName {
  return Math.floor(index / BLOCK) % 2 === 0 ? 'ebgp' : 'ibgp';
}

export function slotPrefixes(p: PeerProfile, slot: number): { v4: [string, string]; v6: string } {
  return {
    v4: [`10.${p.v4[0]}.${slot}.0/24`, `10.${p.v4[1]}.${slot}.0/24`],
    v6: `2001:db8:${p.v6.toString(16)}:${slot.toString(16)}::/64`,
  };
}

// ---- valid messages -------------------------------------------------------------------------------

const attr = (flags: number, type: number, value: Uint8Array): Attr => ({ flags, type, value });

function asPathValue(segments: readonly { type: number; asns: readonly number[] }[]): Uint8Array {
  return concat(segments.map((s) => concat([Uint8Array.of(s.type, s.asns.length), ...s.asns.map(u32)])));
}

interface MpReach {
  afi: number;
  safi: number;
  nh: Uint8Array;
  /** The next-hop length written, when it disagrees with `nh`. */
  nhLength?: number;
  reserved: number;
  nlri: Uint8Array;
}

interface MpUnreach {
  afi: number;
  safi: number;
  nlri: Uint8Array;
}

function mpReachValue(m: MpReach): Uint8Array {
  return concat([
    u16(m.afi),
    Uint8Array.of(m.safi, (m.nhLength ?? m.nh.length) & 0xff),
    m.nh,
    Uint8Array.of(m.reserved),
    m.nlri,
  ]);
}

function mpUnreachValue(m: MpUnreach): Uint8Array {
  return concat([u16(m.afi), Uint8Array.of(m.safi), m.nlri]);
}

/** An UPDATE under construction: attributes by value, the MP attributes still structured. */
interface Draft {
  withdrawn: Uint8Array;
  attrs: Attr[];
  nlri: Uint8Array;
  reach?: MpReach;
  unreach?: MpUnreach;
  withdrawnLength?: number;
  attrsLength?: number;
}

function finish(d: Draft, rng: Rng | undefined): UpdateParts {
  const attrs = [...d.attrs];
  // RFC 7606 §5.1: MP_REACH_NLRI / MP_UNREACH_NLRI SHOULD come first; usually they do.
  const front = rng === undefined || rng.chance(0.7);
  const mp: Attr[] = [];
  if (d.reach !== undefined) mp.push(attr(Flag.optional, AttrCode.mpReach, mpReachValue(d.reach)));
  if (d.unreach !== undefined) mp.push(attr(Flag.optional, AttrCode.mpUnreach, mpUnreachValue(d.unreach)));
  return {
    withdrawn: d.withdrawn,
    attrs: front ? [...mp, ...attrs] : [...attrs, ...mp],
    nlri: d.nlri,
    ...(d.withdrawnLength !== undefined && { withdrawnLength: d.withdrawnLength }),
    ...(d.attrsLength !== undefined && { attrsLength: d.attrsLength }),
  };
}

/** The valid pre-announcement of a slot: attributes no mutated case shares (MED 4242). */
export function preAnnouncement(p: PeerProfile, slot: number): Uint8Array {
  const { v4, v6 } = slotPrefixes(p, slot);
  const attrs: Attr[] = [
    attr(Flag.transitive, AttrCode.origin, Uint8Array.of(2)),
    attr(
      Flag.transitive,
      AttrCode.asPath,
      asPathValue([{ type: 2, asns: p.name === 'ebgp' ? [p.asn, 65099] : [65099] }]),
    ),
    attr(Flag.transitive, AttrCode.nextHop, ipv4Bytes(p.address)),
    attr(Flag.optional, AttrCode.med, u32(4242)),
  ];
  if (p.name === 'ibgp') attrs.push(attr(Flag.transitive, AttrCode.localPref, u32(77)));
  attrs.push(attr(Flag.optional | Flag.transitive, AttrCode.communities, u32((65099 << 16) | 4242)));
  const d: Draft = {
    withdrawn: new Uint8Array(0),
    attrs,
    nlri: concat(v4.map(prefixBytes)),
    reach: { afi: 2, safi: 1, nh: ipv6Bytes('2001:db8:1::99'), reserved: 0, nlri: prefixBytes(v6) },
  };
  return frame(MessageType.update, updateBody(finish(d, undefined)));
}

/** A valid UPDATE announcing `prefixes` with MED `med`: the sentinel and the final set use it. */
export function plainAnnouncement(
  p: PeerProfile,
  prefixes: readonly string[],
  o: { med: number; communities?: readonly number[]; localPref?: number; origin?: number },
): Uint8Array {
  const v4 = prefixes.filter((x) => !x.includes(':'));
  const v6 = prefixes.filter((x) => x.includes(':'));
  const attrs: Attr[] = [
    attr(Flag.transitive, AttrCode.origin, Uint8Array.of(o.origin ?? 0)),
    attr(
      Flag.transitive,
      AttrCode.asPath,
      asPathValue(p.name === 'ebgp' ? [{ type: 2, asns: [p.asn] }] : []),
    ),
  ];
  if (v4.length > 0) attrs.push(attr(Flag.transitive, AttrCode.nextHop, ipv4Bytes(p.address)));
  attrs.push(attr(Flag.optional, AttrCode.med, u32(o.med)));
  if (p.name === 'ibgp') attrs.push(attr(Flag.transitive, AttrCode.localPref, u32(o.localPref ?? 100)));
  if (o.communities !== undefined && o.communities.length > 0) {
    attrs.push(attr(Flag.optional | Flag.transitive, AttrCode.communities, concat(o.communities.map(u32))));
  }
  const d: Draft = { withdrawn: new Uint8Array(0), attrs, nlri: concat(v4.map(prefixBytes)) };
  if (v6.length > 0)
    d.reach = {
      afi: 2,
      safi: 1,
      nh: ipv6Bytes('2001:db8:1::7'),
      reserved: 0,
      nlri: concat(v6.map(prefixBytes)),
    };
  return frame(MessageType.update, updateBody(finish(d, undefined)));
}

/** Valid UPDATEs withdrawing `prefixes` (IPv4 in the Withdrawn Routes field, IPv6 in MP_UNREACH_NLRI). */
export function withdrawals(prefixes: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const v4 = prefixes.filter((x) => !x.includes(':'));
  const v6 = prefixes.filter((x) => x.includes(':'));
  for (let i = 0; i < v4.length; i += 500) {
    const w = concat(v4.slice(i, i + 500).map(prefixBytes));
    out.push(frame(MessageType.update, updateBody({ withdrawn: w, attrs: [], nlri: new Uint8Array(0) })));
  }
  for (let i = 0; i < v6.length; i += 150) {
    const un: MpUnreach = { afi: 2, safi: 1, nlri: concat(v6.slice(i, i + 150).map(prefixBytes)) };
    const a = attr(Flag.optional | Flag.extended, AttrCode.mpUnreach, mpUnreachValue(un));
    out.push(
      frame(
        MessageType.update,
        updateBody({ withdrawn: new Uint8Array(0), attrs: [a], nlri: new Uint8Array(0) }),
      ),
    );
  }
  return out;
}

const EXTERNAL_ASNS = [65010, 65011, 65020, 65100, 4200000001, 4200000002, 174, 3356, 13335];

function baseDraft(rng: Rng, p: PeerProfile, slot: number): Draft {
  const { v4, v6 } = slotPrefixes(p, slot);
  const attrs: Attr[] = [attr(Flag.transitive, AttrCode.origin, Uint8Array.of(rng.int(0, 2)))];
  const hops = Array.from({ length: rng.int(0, 3) }, () => rng.pick(EXTERNAL_ASNS));
  const segs: { type: number; asns: number[] }[] = [];
  if (p.name === 'ebgp') segs.push({ type: 2, asns: [p.asn, ...hops] });
  else if (hops.length > 0) segs.push({ type: 2, asns: hops });
  if (rng.chance(0.1)) segs.push({ type: 1, asns: [rng.pick(EXTERNAL_ASNS), rng.pick(EXTERNAL_ASNS)] });
  attrs.push(attr(Flag.transitive, AttrCode.asPath, asPathValue(segs)));
  const nh =
    p.name === 'ebgp'
      ? rng.chance(0.8)
        ? p.address
        : `198.51.100.${rng.int(10, 250)}`
      : rng.pick([p.address, `203.0.113.${rng.int(1, 254)}`, `192.0.2.${rng.int(1, 254)}`]);
  attrs.push(attr(Flag.transitive, AttrCode.nextHop, ipv4Bytes(nh)));
  if (rng.chance(0.5)) attrs.push(attr(Flag.optional, AttrCode.med, u32(rng.int(0, 1000))));
  if (p.name === 'ibgp') attrs.push(attr(Flag.transitive, AttrCode.localPref, u32(rng.int(50, 300))));
  if (rng.chance(0.1)) attrs.push(attr(Flag.transitive, AttrCode.atomicAggregate, new Uint8Array(0)));
  if (rng.chance(0.1))
    attrs.push(
      attr(
        Flag.optional | Flag.transitive,
        AttrCode.aggregator,
        concat([u32(rng.pick(EXTERNAL_ASNS)), ipv4Bytes('192.0.2.9')]),
      ),
    );
  if (rng.chance(0.6)) {
    const cs = Array.from(
      { length: rng.int(1, 3) },
      () => ((rng.int(65001, 65010) << 16) | rng.int(1, 1000)) >>> 0,
    );
    attrs.push(attr(Flag.optional | Flag.transitive, AttrCode.communities, concat(cs.map(u32))));
  }
  if (p.name === 'ibgp' && rng.chance(0.2))
    attrs.push(
      attr(Flag.optional, AttrCode.originatorId, ipv4Bytes(`10.255.${rng.int(0, 255)}.${rng.int(1, 254)}`)),
    );
  if (p.name === 'ibgp' && rng.chance(0.2)) {
    const ids = Array.from({ length: rng.int(1, 2) }, () =>
      ipv4Bytes(`10.254.${rng.int(0, 255)}.${rng.int(1, 254)}`),
    );
    attrs.push(attr(Flag.optional, AttrCode.clusterList, concat(ids)));
  }
  if (rng.chance(0.2)) {
    const ecs = Array.from({ length: rng.int(1, 2) }, (_, i) =>
      concat([Uint8Array.of(0x00, 0x02), u16(65001 + i), u32(rng.int(1, 99999))]),
    );
    attrs.push(attr(Flag.optional | Flag.transitive, AttrCode.extendedCommunities, concat(ecs)));
  }
  if (rng.chance(0.2)) {
    const ls = Array.from({ length: rng.int(1, 2) }, (_, i) =>
      concat([u32(p.asn), u32(i + 1), u32(rng.int(0, 99))]),
    );
    attrs.push(attr(Flag.optional | Flag.transitive, AttrCode.largeCommunities, concat(ls)));
  }
  if (rng.chance(0.1))
    attrs.push(attr(Flag.optional | Flag.transitive, rng.int(0xf0, 0xfe), rng.bytes(rng.int(0, 6))));
  if (rng.chance(0.1)) attrs.push(attr(Flag.optional, rng.int(0xf0, 0xfe), rng.bytes(rng.int(0, 6))));
  const d: Draft = { withdrawn: new Uint8Array(0), attrs, nlri: prefixBytes(v4[0]) };
  if (rng.chance(0.5)) d.nlri = concat([d.nlri, prefixBytes(v4[1])]);
  else if (rng.chance(0.3)) d.withdrawn = prefixBytes(v4[1]);
  if (rng.chance(0.4)) {
    const nh = rng.chance(0.8)
      ? ipv6Bytes('2001:db8:1::2')
      : concat([ipv6Bytes('2001:db8:1::2'), ipv6Bytes('fe80::2')]);
    d.reach = { afi: 2, safi: 1, nh, reserved: 0, nlri: prefixBytes(v6) };
  } else if (rng.chance(0.2)) {
    d.unreach = { afi: 2, safi: 1, nlri: prefixBytes(v6) };
  }
  return d;
}

// ---- UPDATE mutations -----------------------------------------------------------------------------

type Mutation = (rng: Rng, d: Draft, p: PeerProfile) => string;

function pickAttr(rng: Rng, d: Draft, types?: readonly number[]): Attr | undefined {
  const pool = types === undefined ? d.attrs : d.attrs.filter((a) => types.includes(a.type));
  return pool.length === 0 ? undefined : rng.pick(pool);
}

function replaceAttr(d: Draft, old: Attr, next: Attr): void {
  const i = d.attrs.indexOf(old);
  if (i >= 0) d.attrs[i] = next;
}

function lengthLie(rng: Rng, actual: number, ext: boolean): number {
  return (
    rng.weighted<number>([
      [3, Math.max(0, actual - 1)],
      [3, actual + 1],
      [2, Math.max(0, actual - rng.int(2, 8))],
      [2, actual + rng.int(2, 40)],
      [1, 0],
      [1, ext ? 0xffff : 0xff],
      [1, rng.int(0, ext ? 0xffff : 0xff)],
    ]) & (ext ? 0xffff : 0xff)
  );
}

/** Resizes a value: cut octets off its end or append random ones. */
function resize(rng: Rng, v: Uint8Array, bad: readonly number[]): Uint8Array {
  const delta = rng.pick(bad);
  if (delta < 0) return v.subarray(0, Math.max(0, v.length + delta));
  return concat([v, rng.bytes(delta)]);
}

const UNKNOWN_TYPES = [0, 100, 101, 111, 127, 200, 222, 239, 250, 254];

const asPathMutation: Mutation = (rng, d, p) => {
  const a = pickAttr(rng, d, [AttrCode.asPath]);
  if (a === undefined) return 'as-path(absent)';
  const v = a.value;
  const variant = rng.pick([
    'segment-type',
    'zero-length',
    'overrun',
    'underrun',
    'as0',
    'as-trans',
    'confed-sequence',
    'confed-set',
    'empty',
    'as-set',
    'own-as',
    'first-as',
    'long',
    'two-octet',
  ] as const);
  let next = v;
  let flags = a.flags;
  switch (variant) {
    case 'segment-type':
      next = v.length >= 2 ? Uint8Array.from(v) : asPathValue([{ type: 2, asns: [p.asn] }]);
      next[0] = rng.pick([0, 1, 3, 4, 5, 255]);
      break;
    case 'zero-length':
      next = concat([v, Uint8Array.of(rng.pick([1, 2, 3, 4]), 0)]);
      break;
    case 'overrun':
      next = v.length >= 2 ? Uint8Array.from(v) : Uint8Array.of(2, 0);
      next[1] = ((next[1] ?? 0) + rng.int(1, 5)) & 0xff;
      break;
    case 'underrun':
      next = concat([v, Uint8Array.of(rng.int(1, 4))]);
      break;
    case 'as0':
    case 'as-trans':
    case 'own-as': {
      const asn = variant === 'as0' ? 0 : variant === 'as-trans' ? AS_TRANS : 64512;
      next = asPathValue([
        { type: 2, asns: p.name === 'ebgp' ? [p.asn, asn] : [asn] },
        { type: 2, asns: [rng.pick(EXTERNAL_ASNS)] },
      ]);
      if (rng.chance(0.3)) next = asPathValue([{ type: rng.pick([1, 2]), asns: [asn] }]);
      break;
    }
    case 'confed-sequence':
    case 'confed-set':
      next = concat([
        asPathValue([{ type: variant === 'confed-sequence' ? 3 : 4, asns: [65501, 65502] }]),
        v,
      ]);
      break;
    case 'empty':
      next = new Uint8Array(0);
      break;
    case 'as-set':
      next = concat([
        v,
        asPathValue([{ type: 1, asns: [rng.pick(EXTERNAL_ASNS), rng.pick(EXTERNAL_ASNS)] }]),
      ]);
      break;
    case 'first-as':
      next = asPathValue([{ type: 2, asns: [rng.pick(EXTERNAL_ASNS), p.asn] }]);
      break;
    case 'long': {
      const segs = Array.from({ length: rng.int(1, 3) }, () => ({
        type: 2,
        asns: Array.from({ length: rng.int(60, 255) }, () => rng.pick(EXTERNAL_ASNS)),
      }));
      if (p.name === 'ebgp') (segs[0] as { asns: number[] }).asns[0] = p.asn;
      next = asPathValue(segs);
      flags |= Flag.extended;
      break;
    }
    case 'two-octet': {
      const asns = p.name === 'ebgp' ? [p.asn, 65010] : [65010, 65011];
      next = concat([Uint8Array.of(2, asns.length), ...asns.map(u16)]);
      break;
    }
  }
  replaceAttr(d, a, { ...a, flags, value: next });
  return `as-path:${variant}`;
};

const nextHopMutation: Mutation = (rng, d) => {
  const a = pickAttr(rng, d, [AttrCode.nextHop]);
  if (a === undefined) return 'next-hop(absent)';
  const variant = rng.pick([
    'length',
    'zero',
    'broadcast',
    'multicast',
    'class-e',
    'loopback',
    'ours',
    'off-subnet',
    'this-network',
  ] as const);
  const value =
    variant === 'length'
      ? resize(rng, a.value, [-4, -1, 1, 12])
      : ipv4Bytes(
          {
            zero: '0.0.0.0',
            broadcast: '255.255.255.255',
            multicast: `224.0.0.${rng.int(1, 254)}`,
            'class-e': `240.0.0.${rng.int(1, 254)}`,
            loopback: '127.0.0.1',
            ours: SPEAKER.address,
            'off-subnet': `203.0.113.${rng.int(1, 254)}`,
            'this-network': `0.1.2.${rng.int(1, 254)}`,
          }[variant],
        );
  replaceAttr(d, a, { ...a, value });
  return `next-hop:${variant}`;
};

const originMutation: Mutation = (rng, d) => {
  const a = pickAttr(rng, d, [AttrCode.origin]);
  if (a === undefined) return 'origin(absent)';
  if (rng.chance(0.5)) {
    replaceAttr(d, a, { ...a, value: Uint8Array.of(rng.int(3, 255)) });
    return 'origin:value';
  }
  replaceAttr(d, a, { ...a, value: resize(rng, a.value, [-1, 1, 2]) });
  return 'origin:length';
};

const valueLengthMutation: Mutation = (rng, d, p) => {
  const choices: [number, readonly number[]][] = [
    [AttrCode.communities, [-4, -3, -2, -1, 1, 2, 3, 5]],
    [AttrCode.extendedCommunities, [-8, -1, 1, 4, 7]],
    [AttrCode.largeCommunities, [-12, -4, 1, 4, 8]],
    [AttrCode.med, [-4, -1, 1, 4]],
    [AttrCode.localPref, [-4, -1, 1, 4]],
    [AttrCode.originatorId, [-4, -1, 1, 4]],
    [AttrCode.clusterList, [-4, -1, 1, 2]],
    [AttrCode.aggregator, [-2, -1, 1, 2]],
    [AttrCode.atomicAggregate, [1, 2, 4]],
  ];
  const [type, deltas] = rng.pick(choices);
  let a = pickAttr(rng, d, [type]);
  if (a === undefined) {
    // Add the attribute first, well-formed, so that its malformation has something to work on.
    const flags = {
      [AttrCode.communities]: 0xc0,
      [AttrCode.extendedCommunities]: 0xc0,
      [AttrCode.largeCommunities]: 0xc0,
      [AttrCode.med]: 0x80,
      [AttrCode.localPref]: 0x40,
      [AttrCode.originatorId]: 0x80,
      [AttrCode.clusterList]: 0x80,
      [AttrCode.aggregator]: 0xc0,
      [AttrCode.atomicAggregate]: 0x40,
    }[type] as number;
    const size =
      {
        [AttrCode.extendedCommunities]: 8,
        [AttrCode.largeCommunities]: 12,
        [AttrCode.aggregator]: 8,
        [AttrCode.atomicAggregate]: 0,
      }[type] ?? 4;
    a = attr(flags, type, rng.bytes(size));
    if (type === AttrCode.communities) a = { ...a, value: u32((65005 << 16) | 5) };
    d.attrs.push(a);
  }
  const variant = rng.chance(0.85) ? 'length' : 'value';
  let value = resize(rng, a.value, deltas);
  if (variant === 'value') {
    // Values with a meaning of their own: our identifier (RFC 4456 §8), AGGREGATOR AS 0 (RFC 7607).
    if (type === AttrCode.originatorId || type === AttrCode.clusterList)
      value = concat([ipv4Bytes(SPEAKER.routerId), a.value.subarray(4)]);
    else if (type === AttrCode.aggregator) value = concat([u32(0), ipv4Bytes('192.0.2.9')]);
    else if (type === AttrCode.communities)
      value = concat([a.value, u32(rng.pick([0xffffff01, 0xffffff02, 0xffff029a, (p.asn << 16) >>> 0]))]);
    else value = a.value;
  }
  replaceAttr(d, a, { ...a, value });
  return `${variant === 'length' ? 'value-length' : 'value'}:${type}`;
};

const attrLengthMutation: Mutation = (rng, d) => {
  const a = pickAttr(rng, d);
  if (a === undefined) return 'attr-length(none)';
  const claimedLength = lengthLie(rng, a.value.length, (a.flags & Flag.extended) !== 0);
  // The last attribute's lie reaches into the NLRI field, others into the next attribute.
  if (rng.chance(0.3)) {
    d.attrs.splice(d.attrs.indexOf(a), 1);
    d.attrs.push({ ...a, claimedLength });
  } else {
    replaceAttr(d, a, { ...a, claimedLength });
  }
  return `attr-length:${a.type}`;
};

const attrFlagsMutation: Mutation = (rng, d) => {
  const a = pickAttr(rng, d);
  if (a === undefined) return 'attr-flags(none)';
  const variant = rng.pick([
    'optional',
    'transitive',
    'partial',
    'extended',
    'low-bits',
    'random',
    'raw-extended',
  ] as const);
  let flags = a.flags;
  if (variant === 'optional') flags ^= Flag.optional;
  else if (variant === 'transitive') flags ^= Flag.transitive;
  else if (variant === 'partial') flags ^= Flag.partial;
  else if (variant === 'extended') flags |= Flag.extended;
  else if (variant === 'low-bits') flags |= rng.int(1, 15);
  else flags = rng.int(0, 255);
  if (variant === 'raw-extended') {
    // The Extended Length bit flipped and the octets left as they were: the receiver reads the
    // length with the other width and the attribute walk slips.
    const len = a.claimedLength ?? a.value.length;
    const next: Attr =
      (a.flags & Flag.extended) === 0
        ? {
            flags: a.flags | Flag.extended,
            type: a.type,
            claimedLength: ((len & 0xff) << 8) | (a.value[0] ?? 0),
            value: a.value.subarray(1),
          }
        : {
            flags: a.flags & ~Flag.extended,
            type: a.type,
            claimedLength: (len >> 8) & 0xff,
            value: concat([Uint8Array.of(len & 0xff), a.value]),
          };
    replaceAttr(d, a, next);
    return `attr-flags:raw-extended:${a.type}`;
  }
  replaceAttr(d, a, { ...a, flags });
  return `attr-flags:${variant}:${a.type}`;
};

const attrTypeMutation: Mutation = (rng, d) => {
  const a = pickAttr(rng, d);
  if (a === undefined) return 'attr-type(none)';
  const type = rng.chance(0.5)
    ? rng.pick(UNKNOWN_TYPES)
    : rng.pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 32]);
  replaceAttr(d, a, { ...a, type });
  return `attr-type:${a.type}->${type}`;
};

const duplicateMutation: Mutation = (rng, d) => {
  const a = pickAttr(rng, d);
  if (a === undefined && d.reach === undefined) return 'duplicate(none)';
  if (a === undefined || (d.reach !== undefined && rng.chance(0.15))) {
    // A second MP_REACH_NLRI: RFC 7606 §3.g makes it a session reset.
    d.attrs.push(attr(Flag.optional, AttrCode.mpReach, mpReachValue(d.reach as MpReach)));
    return 'duplicate:14';
  }
  const copy = rng.chance(0.5)
    ? a
    : { ...a, value: rng.chance(0.5) ? rng.bytes(a.value.length) : resize(rng, a.value, [-1, 1, 4]) };
  d.attrs.splice(rng.int(0, d.attrs.length), 0, copy);
  return `duplicate:${a.type}`;
};

const dropMutation: Mutation = (rng, d) => {
  const mandatory = rng.chance(0.7);
  const a = pickAttr(
    rng,
    d,
    mandatory ? [AttrCode.origin, AttrCode.asPath, AttrCode.nextHop, AttrCode.localPref] : undefined,
  );
  if (a === undefined) return 'drop(none)';
  d.attrs.splice(d.attrs.indexOf(a), 1);
  return `drop:${a.type}`;
};

const unknownMutation: Mutation = (rng, d) => {
  const flags = rng.pick([0x00, 0x40, 0x80, 0xc0, 0xe0, 0x20, 0x50, 0xd0]);
  d.attrs.splice(
    rng.int(0, d.attrs.length),
    0,
    attr(flags, rng.pick(UNKNOWN_TYPES), rng.bytes(rng.int(0, 10))),
  );
  return `unknown:0x${flags.toString(16)}`;
};

const shuffleMutation: Mutation = (rng, d) => {
  for (let i = d.attrs.length - 1; i > 0; i--) {
    const k = rng.int(0, i);
    [d.attrs[i], d.attrs[k]] = [d.attrs[k] as Attr, d.attrs[i] as Attr];
  }
  return 'shuffle';
};

const extendedEverywhere: Mutation = (_rng, d) => {
  d.attrs = d.attrs.map((a) => ({ ...a, flags: a.flags | Flag.extended }));
  return 'extended-length-everywhere';
};

function badPrefixes(rng: Rng, v6: boolean): { bytes: Uint8Array; name: string } {
  const max = v6 ? 128 : 32;
  const variant = rng.pick([
    'too-long',
    'overrun',
    'host-bits',
    'default',
    'host-route',
    'many',
    'garbage',
  ] as const);
  switch (variant) {
    case 'too-long':
      return {
        bytes: concat([Uint8Array.of(rng.int(max + 1, 255)), rng.bytes(rng.int(0, 4))]),
        name: variant,
      };
    case 'overrun':
      return { bytes: Uint8Array.of(rng.int(9, max), 10), name: variant };
    case 'host-bits':
      return {
        bytes: v6
          ? encodePrefix(ipv6Bytes('2001:db8:77::ff'), 47)
          : Uint8Array.of(23, 10, 200, rng.int(0, 255)),
        name: variant,
      };
    case 'default':
      return { bytes: Uint8Array.of(0), name: variant };
    case 'host-route':
      return {
        bytes: v6
          ? encodePrefix(ipv6Bytes('2001:db8:77::1'), 128)
          : Uint8Array.of(32, 10, 201, rng.int(0, 255), rng.int(1, 254)),
        name: variant,
      };
    case 'many': {
      const n = rng.int(20, 80);
      const items = Array.from({ length: n }, (_, i) =>
        v6 ? encodePrefix(ipv6Bytes(`2001:db8:78:${i.toString(16)}::`), 64) : Uint8Array.of(24, 10, 202, i),
      );
      return { bytes: concat(items), name: variant };
    }
    case 'garbage':
      return { bytes: rng.bytes(rng.int(1, 6)), name: variant };
  }
}

const nlriMutation: Mutation = (rng, d) => {
  if (rng.chance(0.15)) {
    d.nlri = new Uint8Array(0);
    return 'nlri:empty';
  }
  const bad = badPrefixes(rng, false);
  d.nlri = rng.chance(0.5) ? concat([d.nlri, bad.bytes]) : concat([bad.bytes, d.nlri]);
  return `nlri:${bad.name}`;
};

const withdrawnMutation: Mutation = (rng, d, p) => {
  if (rng.chance(0.3)) {
    // Withdraw what the NLRI announces (RFC 4271 §4.3: announced wins).
    d.withdrawn = concat([d.withdrawn, d.nlri.length > 0 ? d.nlri : prefixBytes(slotPrefixes(p, 0).v4[0])]);
    return 'withdrawn:announced-too';
  }
  const bad = badPrefixes(rng, false);
  d.withdrawn = concat([d.withdrawn, bad.bytes]);
  return `withdrawn:${bad.name}`;
};

const fieldLengthMutation: Mutation = (rng, d) => {
  const w = d.withdrawn.length;
  const attrs = d.attrs.reduce(
    (s, a) => s + 3 + ((a.flags & Flag.extended) !== 0 ? 1 : 0) + a.value.length,
    0,
  );
  if (rng.chance(0.5)) {
    d.withdrawnLength = lengthLie(rng, w, true);
    return 'withdrawn-length';
  }
  d.attrsLength = lengthLie(rng, attrs + (d.reach ? 40 : 0), true);
  return 'attrs-length';
};

const mpReachMutation: Mutation = (rng, d, p) => {
  if (d.reach === undefined)
    d.reach = {
      afi: 2,
      safi: 1,
      nh: ipv6Bytes('2001:db8:1::2'),
      reserved: 0,
      nlri: prefixBytes(slotPrefixes(p, 0).v6),
    };
  const r = d.reach;
  const variant = rng.pick([
    'afi-safi',
    'nh-length-field',
    'nh-length',
    'reserved',
    'nlri',
    'truncate',
    'ipv4',
    'empty-nlri',
    'link-local',
  ] as const);
  switch (variant) {
    case 'afi-safi':
      if (rng.chance(0.5)) r.afi = rng.pick([0, 1, 3, 25, 16388, 0xffff]);
      else r.safi = rng.pick([0, 2, 4, 5, 128, 133, 255]);
      break;
    case 'nh-length-field':
      r.nhLength = rng.pick([0, 1, 4, 15, 17, 31, 33, 64, 255]);
      break;
    case 'nh-length':
      r.nh = rng.bytes(rng.pick([0, 4, 8, 12, 20, 24, 48]));
      break;
    case 'reserved':
      r.reserved = rng.int(1, 255);
      break;
    case 'nlri': {
      const bad = badPrefixes(rng, r.afi === 2);
      r.nlri = concat([r.nlri, bad.bytes]);
      return `mp-reach:nlri-${bad.name}`;
    }
    case 'truncate': {
      const v = mpReachValue(r);
      d.reach = undefined;
      d.attrs.push(
        attr(Flag.optional, AttrCode.mpReach, v.subarray(0, rng.int(0, Math.min(v.length - 1, 20)))),
      );
      break;
    }
    case 'ipv4':
      r.afi = 1;
      r.nh = ipv4Bytes(rng.chance(0.7) ? p.address : '2.2.2.2');
      r.nlri = concat([Uint8Array.of(24, 10, 203, rng.int(0, 255))]);
      break;
    case 'empty-nlri':
      r.nlri = new Uint8Array(0);
      break;
    case 'link-local':
      r.nh = concat([r.nh.subarray(0, 16), ipv6Bytes('fe80::2')]);
      break;
  }
  return `mp-reach:${variant}`;
};

const mpUnreachMutation: Mutation = (rng, d, p) => {
  if (d.unreach === undefined) d.unreach = { afi: 2, safi: 1, nlri: prefixBytes(slotPrefixes(p, 0).v6) };
  const u = d.unreach;
  const variant = rng.pick(['afi-safi', 'nlri', 'truncate', 'end-of-rib', 'ipv4'] as const);
  switch (variant) {
    case 'afi-safi':
      if (rng.chance(0.5)) u.afi = rng.pick([0, 3, 25, 0xffff]);
      else u.safi = rng.pick([0, 2, 4, 128, 255]);
      break;
    case 'nlri': {
      const bad = badPrefixes(rng, u.afi === 2);
      u.nlri = concat([u.nlri, bad.bytes]);
      return `mp-unreach:nlri-${bad.name}`;
    }
    case 'truncate': {
      const v = mpUnreachValue(u);
      d.unreach = undefined;
      d.attrs.push(attr(Flag.optional, AttrCode.mpUnreach, v.subarray(0, rng.int(0, 2))));
      break;
    }
    case 'end-of-rib':
      u.nlri = new Uint8Array(0);
      break;
    case 'ipv4':
      u.afi = 1;
      u.nlri = d.nlri.length > 0 ? d.nlri : Uint8Array.of(24, 10, 203, 1);
      break;
  }
  return `mp-unreach:${variant}`;
};

const dropAllMutation: Mutation = (_rng, d) => {
  d.attrs = [];
  d.reach = undefined;
  return 'no-attributes';
};

/** Field-level mutations (on the structured draft), with weights. */
const FIELD_MUTATIONS: readonly (readonly [number, Mutation])[] = [
  [10, asPathMutation],
  [6, nextHopMutation],
  [4, originMutation],
  [10, valueLengthMutation],
  [8, mpReachMutation],
  [4, mpUnreachMutation],
  [5, nlriMutation],
  [3, withdrawnMutation],
  [1, dropAllMutation],
];

/** Attribute-level mutations (after the MP attributes are encoded). */
const ATTR_MUTATIONS: readonly (readonly [number, Mutation])[] = [
  [8, attrLengthMutation],
  [8, attrFlagsMutation],
  [5, attrTypeMutation],
  [6, duplicateMutation],
  [6, dropMutation],
  [4, unknownMutation],
  [2, shuffleMutation],
  [1, extendedEverywhere],
  [4, fieldLengthMutation],
];

/** A header mutation of the framed bytes; returns the bytes to send. */
function headerMutation(rng: Rng, bytes: Uint8Array, names: string[]): Uint8Array {
  const variant = rng.weighted<string>([
    [6, 'length'],
    [1, 'marker'],
    [2, 'type'],
  ]);
  const out = Uint8Array.from(bytes);
  if (variant === 'marker') {
    out[rng.int(0, 15)] = rng.int(0, 254);
    names.push('header:marker');
    return out;
  }
  if (variant === 'type') {
    out[18] = rng.pick([0, 1, 3, 4, 6, 7, 64, 128, 255]);
    names.push(`header:type-${out[18]}`);
    return out;
  }
  const actual = bytes.length;
  const claimed = rng.weighted<number>([
    [2, rng.int(0, HEADER_LENGTH - 1)],
    [2, rng.int(HEADER_LENGTH, 22)],
    [4, Math.max(23, actual - rng.int(1, 12))],
    [4, Math.min(MAX_LENGTH, actual + rng.int(1, 12))],
    [2, rng.int(MAX_LENGTH + 1, 0xffff)],
    [1, rng.int(23, MAX_LENGTH)],
  ]);
  out[16] = claimed >> 8;
  out[17] = claimed & 0xff;
  names.push(`header:length-${claimed}`);
  if (claimed < HEADER_LENGTH || claimed > MAX_LENGTH) return out;
  // The speaker reads exactly `claimed` octets: send that many, cut or padded with random octets.
  return claimed <= actual ? out.subarray(0, claimed) : concat([out, rng.bytes(claimed - actual)]);
}

export function updateCase(seed: number, index: number): UpdateCase {
  const rng = caseRng(seed, index);
  const peer = peerOfCase(index);
  const p = PEERS[peer];
  const slot = index % SLOTS;
  const d = baseDraft(rng, p, slot);
  const names: string[] = [];
  const count = rng.weighted<number>([
    [70, 1],
    [20, 2],
    [10, 3],
  ]);
  let header = false;
  const picks: Mutation[] = [];
  for (let i = 0; i < count; i++) {
    const level = rng.weighted<'field' | 'attr' | 'header'>([
      [50, 'field'],
      [40, 'attr'],
      [header ? 0 : 10, 'header'],
    ]);
    if (level === 'header') header = true;
    else picks.push(rng.weighted(level === 'field' ? FIELD_MUTATIONS : ATTR_MUTATIONS));
  }
  // Field-level first (they need the structured MP attributes), then attribute-level.
  const fieldSet = new Set(FIELD_MUTATIONS.map(([, m]) => m));
  for (const m of picks.filter((m) => fieldSet.has(m))) names.push(m(rng, d, p));
  const parts = finish(d, rng);
  const d2: Draft = { withdrawn: parts.withdrawn, attrs: [...parts.attrs], nlri: parts.nlri };
  if (parts.withdrawnLength !== undefined) d2.withdrawnLength = parts.withdrawnLength;
  if (parts.attrsLength !== undefined) d2.attrsLength = parts.attrsLength;
  for (const m of picks.filter((m) => !fieldSet.has(m))) names.push(m(rng, d2, p));
  const body = updateBody(finish(d2, undefined));
  let bytes = frame(MessageType.update, body);
  if (bytes.length > MAX_LENGTH && !header) {
    // Too big for one message (no Extended Message capability): cut the NLRI to fit.
    bytes = frame(MessageType.update, body.subarray(0, MAX_LENGTH - HEADER_LENGTH));
    names.push('cut-to-4096');
  }
  if (header) bytes = headerMutation(rng, bytes, names);
  return { kind: 'update', index, peer, mutations: names, pre: preAnnouncement(p, slot), bytes };
}

// ---- OPEN ---------------------------------------------------------------------------------------

interface OpenDraft {
  version: number;
  myAs: number;
  holdTime: number;
  bgpId: Uint8Array;
  caps: { code: number; value: Uint8Array; claimedLength?: number }[];
  extra: OptionalParameter[];
  onePerParam: boolean;
  paramLength?: number;
  optLength?: number;
}

/** The OPEN the fuzzer's sessions use: Multiprotocol IPv4 and IPv6 unicast, route refresh, 4-octet AS. */
export function baseOpen(p: PeerProfile, holdTime = 180): Uint8Array {
  return frame(MessageType.open, openBody(openParts(baseOpenDraft(p, holdTime))));
}

function baseOpenDraft(p: PeerProfile, holdTime: number): OpenDraft {
  return {
    version: 4,
    myAs: p.asn > 0xffff ? AS_TRANS : p.asn,
    holdTime,
    bgpId: ipv4Bytes(p.routerId),
    caps: [
      { code: 1, value: Uint8Array.of(0, 1, 0, 1) },
      { code: 1, value: Uint8Array.of(0, 2, 0, 1) },
      { code: 2, value: new Uint8Array(0) },
      { code: 65, value: u32(p.asn) },
    ],
    extra: [],
    onePerParam: true,
  };
}

function openParts(o: OpenDraft) {
  const capBytes = (c: OpenDraft['caps'][number]) =>
    concat([Uint8Array.of(c.code, (c.claimedLength ?? c.value.length) & 0xff), c.value]);
  const params: OptionalParameter[] = o.onePerParam
    ? o.caps.map((c) => ({ type: 2, value: capBytes(c) }))
    : o.caps.length > 0
      ? [
          {
            type: 2,
            value: concat(o.caps.map(capBytes)),
            ...(o.paramLength !== undefined && { claimedLength: o.paramLength }),
          },
        ]
      : [];
  if (o.onePerParam && o.paramLength !== undefined && params.length > 0) {
    const i = params.length - 1;
    params[i] = { ...(params[i] as OptionalParameter), claimedLength: o.paramLength };
  }
  return {
    version: o.version,
    myAs: o.myAs,
    holdTime: o.holdTime,
    bgpId: o.bgpId,
    params: [...params, ...o.extra],
    ...(o.optLength !== undefined && { optLength: o.optLength }),
  };
}

export function openCase(seed: number, index: number): OpenCase {
  const rng = caseRng(seed, index);
  const peer = peerOfCase(index);
  const p = PEERS[peer];
  const o = baseOpenDraft(p, rng.pick([0, 3, 90, 180, 65535]));
  o.onePerParam = rng.chance(0.5);
  const names: string[] = [];
  const count = rng.weighted<number>([
    [75, 1],
    [25, 2],
  ]);
  let header = false;
  for (let i = 0; i < count; i++) {
    const m = rng.pick([
      'version',
      'my-as',
      'as4',
      'hold-time',
      'bgp-id',
      'opt-length',
      'param-type',
      'param-length',
      'cap-length',
      'cap-unknown',
      'cap-mp',
      'no-caps',
      'header',
    ] as const);
    const as4 = o.caps.find((c) => c.code === 65);
    switch (m) {
      case 'version':
        o.version = rng.pick([0, 1, 2, 3, 5, 255]);
        break;
      case 'my-as':
        o.myAs = rng.pick([0, AS_TRANS, 65002, 64512, 65001, rng.int(1, 0xffff)]);
        break;
      case 'as4':
        if (as4 === undefined) break;
        switch (rng.pick(['zero', 'other-as', 'length', 'twice'] as const)) {
          case 'zero':
            as4.value = u32(0);
            break;
          case 'other-as':
            as4.value = u32(rng.pick([65002, 64513, 4200000000, p.asn + 1]));
            break;
          case 'length':
            as4.value = rng.bytes(rng.pick([0, 2, 3, 5, 8]));
            break;
          case 'twice':
            o.caps.push({ code: 65, value: u32(rng.pick([p.asn, 65003])) });
            break;
        }
        break;
      case 'hold-time':
        o.holdTime = rng.pick([0, 1, 2, 3, 4, rng.int(0, 0xffff)]);
        break;
      case 'bgp-id':
        o.bgpId = ipv4Bytes(
          rng.pick([
            '0.0.0.0',
            SPEAKER.routerId,
            '255.255.255.255',
            '224.0.0.1',
            '127.0.0.1',
            `10.9.${rng.int(0, 255)}.${rng.int(0, 255)}`,
          ]),
        );
        break;
      case 'opt-length': {
        const actual = openBody(openParts(o)).length - 10;
        o.optLength = lengthLie(rng, actual, false);
        break;
      }
      case 'param-type':
        o.extra.push({ type: rng.pick([0, 1, 3, 4, 5, 128, 254]), value: rng.bytes(rng.int(0, 6)) });
        break;
      case 'param-length':
        o.paramLength = rng.pick([0, 1, 3, 5, 7, 40, 254]);
        break;
      case 'cap-length': {
        const c = o.caps.length > 0 ? rng.pick(o.caps) : undefined;
        if (c !== undefined) c.claimedLength = lengthLie(rng, c.value.length, false);
        break;
      }
      case 'cap-unknown':
        o.caps.splice(rng.int(0, o.caps.length), 0, {
          code: rng.pick([0, 3, 100, 127, 131, 200, 239]),
          value: rng.bytes(rng.int(0, 8)),
        });
        break;
      case 'cap-mp':
        if (rng.chance(0.5))
          o.caps.push({
            code: 1,
            value: Uint8Array.of(0, rng.pick([1, 2, 3, 25]), 0, rng.pick([1, 2, 4, 128])),
          });
        else o.caps.push({ code: 1, value: rng.bytes(rng.pick([0, 2, 3, 5])) });
        break;
      case 'no-caps':
        o.caps = [];
        break;
      case 'header':
        header = true;
        break;
    }
    names.push(`open:${m}`);
  }
  let bytes = frame(MessageType.open, openBody(openParts(o)));
  if (header) bytes = headerMutation(rng, bytes, names);
  return { kind: 'open', index, peer, mutations: names, bytes };
}

/** About one case in twenty tries an OPEN (on a fresh connection); the rest are UPDATEs. */
export function generateCase(seed: number, index: number): FuzzCase {
  const kindRng = caseRng(seed ^ 0x0bad5eed, index);
  return kindRng.chance(0.05) ? openCase(seed, index) : updateCase(seed, index);
}
