// Interned path attribute sets.
//
// A full table is a million prefixes but only a few thousand distinct attribute sets (BIRD's
// `rta` cache, GoBGP shares `PathAttributes` slices the same way), so every path stores a
// reference to one shared, frozen `AttrSet` instead of its own copy. The set is interned once
// per UPDATE block, never per prefix: `applyUpdate` interns once and all the block's prefixes
// share the result.
//
// Interning hashes the attribute values as numbers (`attrHash`) and compares candidates field by
// field (`sameAttrs`), so no canonical string key (AS path and communities joined as text) is built
// and hashed per UPDATE: making that string would dominate the cost of interning, and a real full
// table has hundreds of thousands of distinct sets.
//
// The set also holds the values the decision process reads (AS_PATH length, neighbour AS,
// MED, ORIGINATOR_ID as a number...), computed once at interning, so that comparing two
// paths never walks an AS_PATH again.
//
// Lifetime: each `AttrSet` carries a reference count (a private field, so the frozen object
// stays frozen); whoever stores a reference calls `retain`, whoever drops it `release`, and
// the store forgets the set when the count reaches zero. A set interned but never retained
// (an UPDATE whose prefixes were all unchanged) is dropped by `releaseIfUnused`.
//
// What the RIB keeps is a copy: the decoder's views into socket buffers are transient, and a view
// kept in the RIB would pin a whole socket buffer, so the values of unknown attributes in
// particular are copied once here.

import type {
  AsPathSegment,
  LargeCommunity,
  OriginCode,
  PathAttributes,
  UnknownAttribute,
} from '../wire/types.ts';
import { AsPathSegmentType, Origin, WellKnownCommunity } from '../wire/types.ts';
import { ipv4ToNumber } from './prefix.ts';

/** Bits of `AttrSet.wellKnown`: which well-known communities (RFC 1997, RFC 9494) the set carries. */
export const WellKnownBit = {
  noExport: 1,
  noAdvertise: 2,
  noExportSubconfed: 4,
  llgrStale: 8,
  noLlgr: 16,
} as const;

export class AttrSet {
  /** `attrHash` of the attributes and next hops: the bucket this set is interned in. */
  readonly hash: number;
  /** The attributes, deep-frozen; `nextHop` is not in here but in the field below. */
  readonly attrs: PathAttributes;
  /** The next hop of the reach block (NEXT_HOP or MP_REACH_NLRI), or 'self' for local routes. */
  readonly nextHop: string;
  /** RFC 2545 link-local IPv6 next hop, when the peer sent one. */
  readonly linkLocalNextHop: string | undefined;
  /** ORIGIN, INCOMPLETE when absent. */
  readonly origin: OriginCode;
  /** RFC 4271 §9.1.2.2 (a): an AS_SET counts 1; RFC 5065 §5.3: confederation segments count 0. */
  readonly asPathLength: number;
  /** The leftmost AS of the first AS_SEQUENCE, -1 when the route is from our own AS (§9.1.2.2). */
  readonly neighborAs: number;
  /** MULTI_EXIT_DISC, 0 when absent (RFC 4271 §9.1.2.2 (c)). */
  readonly med: number;
  readonly clusterListLength: number;
  /** ORIGINATOR_ID as an unsigned number, -1 when absent. */
  readonly originatorId: number;
  /** `WellKnownBit` flags. */
  readonly wellKnown: number;
  #refs = 0;

  constructor(hash: number, attrs: PathAttributes, nextHop: string, linkLocalNextHop: string | undefined) {
    this.hash = hash;
    this.attrs = attrs;
    this.nextHop = nextHop;
    this.linkLocalNextHop = linkLocalNextHop;
    this.origin = attrs.origin ?? Origin.incomplete;
    this.asPathLength = asPathLength(attrs.asPath);
    this.neighborAs = neighborAs(attrs.asPath);
    this.med = attrs.med ?? 0;
    this.clusterListLength = attrs.clusterList?.length ?? 0;
    this.originatorId = attrs.originatorId === undefined ? -1 : ipv4ToNumber(attrs.originatorId);
    let wellKnown = 0;
    for (const c of attrs.communities ?? []) {
      if (c === WellKnownCommunity.noExport) wellKnown |= WellKnownBit.noExport;
      else if (c === WellKnownCommunity.noAdvertise) wellKnown |= WellKnownBit.noAdvertise;
      else if (c === WellKnownCommunity.noExportSubconfed) wellKnown |= WellKnownBit.noExportSubconfed;
      else if (c === WellKnownCommunity.llgrStale) wellKnown |= WellKnownBit.llgrStale;
      else if (c === WellKnownCommunity.noLlgr) wellKnown |= WellKnownBit.noLlgr;
    }
    this.wellKnown = wellKnown;
    Object.freeze(this);
  }

  /** How many stored references (paths, Adj-RIB-Out entries) point at this set. */
  get refCount(): number {
    return this.#refs;
  }

  /** Used by `AttrStore` only. */
  static adjust(set: AttrSet, delta: number): number {
    set.#refs += delta;
    return set.#refs;
  }
}

function asPathLength(path: readonly AsPathSegment[] | undefined): number {
  let n = 0;
  for (const seg of path ?? []) {
    if (seg.type === AsPathSegmentType.sequence) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.set) n += 1;
  }
  return n;
}

function neighborAs(path: readonly AsPathSegment[] | undefined): number {
  for (const seg of path ?? []) {
    if (seg.type === AsPathSegmentType.confedSequence || seg.type === AsPathSegmentType.confedSet) continue;
    if (seg.type === AsPathSegmentType.sequence && seg.asns.length > 0) return seg.asns[0] ?? -1;
    return -1;
  }
  return -1;
}

/** One step of the hash: mixes a 32-bit value into `h` (murmur3's body). */
function mix(h: number, v: number): number {
  let k = Math.imul(v | 0, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  const x = h ^ k;
  return (Math.imul((x << 13) | (x >>> 19), 5) + 0xe6546b64) | 0;
}

function mixString(h: number, s: string): number {
  let x = mix(h, s.length);
  for (let i = 0; i < s.length; i++) x = mix(x, s.charCodeAt(i));
  return x;
}

/**
 * Mixed in for an absent value. A present value equal to it only makes a hash collision, which
 * `sameAttrs` tells apart.
 */
const ABSENT = 0x7ead_beef;

/**
 * A 32-bit hash of everything `sameAttrs` compares: the attributes (not their NEXT_HOP, which is
 * the `nextHop` argument) and the next hops. Equal sets hash alike; an array's length is mixed
 * in, so that moving a value between neighbouring arrays changes the hash.
 */
export function attrHash(attrs: PathAttributes, nextHop: string, linkLocalNextHop?: string): number {
  let h = mixString(0x5bd1e995, nextHop);
  h = linkLocalNextHop === undefined ? mix(h, ABSENT) : mixString(h, linkLocalNextHop);
  h = mix(h, attrs.origin ?? ABSENT);
  const path = attrs.asPath;
  if (path === undefined) {
    h = mix(h, ABSENT);
  } else {
    h = mix(h, path.length);
    for (const seg of path) {
      h = mix(mix(h, seg.type), seg.asns.length);
      for (const asn of seg.asns) h = mix(h, asn);
    }
  }
  h = mix(mix(h, attrs.med ?? ABSENT), attrs.localPref ?? ABSENT);
  h = mix(h, attrs.atomicAggregate === true ? 1 : 0);
  const agg = attrs.aggregator;
  h = agg === undefined ? mix(h, ABSENT) : mixString(mix(h, agg.asn), agg.address);
  h = mixNumbers(h, attrs.communities);
  h = attrs.originatorId === undefined ? mix(h, ABSENT) : mixString(h, attrs.originatorId);
  if (attrs.clusterList === undefined) {
    h = mix(h, ABSENT);
  } else {
    h = mix(h, attrs.clusterList.length);
    for (const id of attrs.clusterList) h = mixString(h, id);
  }
  if (attrs.extendedCommunities === undefined) {
    h = mix(h, ABSENT);
  } else {
    h = mix(h, attrs.extendedCommunities.length);
    for (const c of attrs.extendedCommunities) h = mix(mix(h, Number(c >> 32n)), Number(c & 0xffff_ffffn));
  }
  if (attrs.largeCommunities === undefined) {
    h = mix(h, ABSENT);
  } else {
    h = mix(h, attrs.largeCommunities.length);
    for (const c of attrs.largeCommunities) h = mix(mix(mix(h, c.globalAdmin), c.localData1), c.localData2);
  }
  if (attrs.unknown === undefined) {
    h = mix(h, ABSENT);
  } else {
    h = mix(h, attrs.unknown.length);
    for (const u of attrs.unknown) {
      h = mix(mix(mix(h, u.typeCode), u.flags), u.value.length);
      for (let i = 0; i < u.value.length; i++) h = mix(h, u.value[i] as number);
    }
  }
  // murmur3's finalizer.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function mixNumbers(h: number, xs: readonly number[] | undefined): number {
  if (xs === undefined) return mix(h, ABSENT);
  let x = mix(h, xs.length);
  for (const v of xs) x = mix(x, v);
  return x;
}

/** Whether `set` holds exactly these attributes and next hops (what interning treats as one set). */
export function sameAttrs(
  set: AttrSet,
  attrs: PathAttributes,
  nextHop: string,
  linkLocalNextHop: string | undefined,
): boolean {
  const a = set.attrs;
  if (set.nextHop !== nextHop || set.linkLocalNextHop !== linkLocalNextHop) return false;
  if (a.origin !== attrs.origin || a.med !== attrs.med || a.localPref !== attrs.localPref) return false;
  if ((a.atomicAggregate === true) !== (attrs.atomicAggregate === true)) return false;
  if (a.originatorId !== attrs.originatorId) return false;
  if (!sameList(a.asPath, attrs.asPath, (x, y) => x.type === y.type && sameList(x.asns, y.asns, same))) {
    return false;
  }
  const agg = a.aggregator;
  const other = attrs.aggregator;
  if (agg === undefined || other === undefined) {
    if (agg !== other) return false;
  } else if (agg.asn !== other.asn || agg.address !== other.address) {
    return false;
  }
  return (
    sameList(a.communities, attrs.communities, same) &&
    sameList(a.clusterList, attrs.clusterList, same) &&
    sameList(a.extendedCommunities, attrs.extendedCommunities, same) &&
    sameList(
      a.largeCommunities,
      attrs.largeCommunities,
      (x, y) =>
        x.globalAdmin === y.globalAdmin && x.localData1 === y.localData1 && x.localData2 === y.localData2,
    ) &&
    sameList(
      a.unknown,
      attrs.unknown,
      (x, y) => x.typeCode === y.typeCode && x.flags === y.flags && sameList(x.value, y.value, same),
    )
  );
}

const same = <T>(x: T, y: T): boolean => x === y;

/** Equal lengths and elements; undefined equals only undefined (an empty list is not absent). */
function sameList<T>(
  xs: ArrayLike<T> | undefined,
  ys: ArrayLike<T> | undefined,
  eq: (x: T, y: T) => boolean,
): boolean {
  if (xs === undefined || ys === undefined) return xs === ys;
  if (xs.length !== ys.length) return false;
  for (let i = 0; i < xs.length; i++) if (!eq(xs[i] as T, ys[i] as T)) return false;
  return true;
}

/** A deep-frozen copy of the attributes without NEXT_HOP (it lives in `AttrSet.nextHop`). */
export function freezeAttrs(attrs: PathAttributes): PathAttributes {
  const out: {
    -readonly [K in keyof PathAttributes]: PathAttributes[K];
  } = {};
  if (attrs.origin !== undefined) out.origin = attrs.origin;
  if (attrs.asPath !== undefined) {
    out.asPath = Object.freeze(
      attrs.asPath.map(
        (s): AsPathSegment => Object.freeze({ type: s.type, asns: Object.freeze([...s.asns]) }),
      ),
    );
  }
  if (attrs.med !== undefined) out.med = attrs.med;
  if (attrs.localPref !== undefined) out.localPref = attrs.localPref;
  if (attrs.atomicAggregate) out.atomicAggregate = true;
  if (attrs.aggregator !== undefined) out.aggregator = Object.freeze({ ...attrs.aggregator });
  if (attrs.communities !== undefined) out.communities = Object.freeze([...attrs.communities]);
  if (attrs.originatorId !== undefined) out.originatorId = attrs.originatorId;
  if (attrs.clusterList !== undefined) out.clusterList = Object.freeze([...attrs.clusterList]);
  if (attrs.extendedCommunities !== undefined) {
    out.extendedCommunities = Object.freeze([...attrs.extendedCommunities]);
  }
  if (attrs.largeCommunities !== undefined) {
    out.largeCommunities = Object.freeze(
      attrs.largeCommunities.map((c): LargeCommunity => Object.freeze({ ...c })),
    );
  }
  if (attrs.unknown !== undefined) {
    // A typed array with elements cannot be frozen; the copy is private to the set.
    out.unknown = Object.freeze(
      attrs.unknown.map(
        (u): UnknownAttribute =>
          Object.freeze({ flags: u.flags, typeCode: u.typeCode, value: u.value.slice() }),
      ),
    );
  }
  return Object.freeze(out);
}

/** The intern table: `attrHash` → the shared `AttrSet`s of that hash (one, but for a collision). */
export class AttrStore {
  readonly #buckets = new Map<number, AttrSet[]>();
  #size = 0;

  /** The shared set for these attributes; not retained yet (see `retain`/`releaseIfUnused`). */
  intern(attrs: PathAttributes, nextHop: string, linkLocalNextHop?: string): AttrSet {
    const hash = attrHash(attrs, nextHop, linkLocalNextHop);
    let bucket = this.#buckets.get(hash);
    if (bucket === undefined) {
      bucket = [];
      this.#buckets.set(hash, bucket);
    } else {
      for (const set of bucket) if (sameAttrs(set, attrs, nextHop, linkLocalNextHop)) return set;
    }
    const set = new AttrSet(hash, freezeAttrs(attrs), nextHop, linkLocalNextHop);
    bucket.push(set);
    this.#size++;
    return set;
  }

  retain(set: AttrSet, count = 1): void {
    AttrSet.adjust(set, count);
  }

  release(set: AttrSet): void {
    if (AttrSet.adjust(set, -1) <= 0) this.#forget(set);
  }

  /** Forgets a set that `intern` returned but nothing retained. */
  releaseIfUnused(set: AttrSet): void {
    if (set.refCount <= 0) this.#forget(set);
  }

  #forget(set: AttrSet): void {
    const bucket = this.#buckets.get(set.hash);
    const i = bucket === undefined ? -1 : bucket.indexOf(set);
    if (bucket === undefined || i < 0) return;
    if (bucket.length === 1) {
      this.#buckets.delete(set.hash);
    } else {
      bucket.splice(i, 1);
    }
    this.#size--;
  }

  /** Number of distinct interned sets (exposed as a metric). */
  get size(): number {
    return this.#size;
  }
}
