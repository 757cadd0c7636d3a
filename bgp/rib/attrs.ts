// Interned path attribute sets.
//
// A full table is a million prefixes but only a few thousand distinct attribute sets (BIRD's
// `rta` cache, GoBGP shares `PathAttributes` slices the same way), so every path stores a
// reference to one shared, frozen `AttrSet` instead of its own copy. The set is interned once
// per UPDATE block, never per prefix: `applyUpdate` builds the canonical key once and all the
// block's prefixes share the result.
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
// What the RIB keeps is a copy (STYLE rule 3): the decoder's views into socket buffers, in
// particular the values of unknown attributes, are copied once here.

import type {
  AsPathSegment,
  LargeCommunity,
  OriginCode,
  PathAttributes,
  UnknownAttribute,
} from '../wire/types.ts';
import { AsPathSegmentType, Origin, WellKnownCommunity } from '../wire/types.ts';
import { ipv4ToNumber } from './prefix.ts';

/** Bits of `AttrSet.wellKnown`: which RFC 1997 well-known communities the set carries. */
export const WellKnownBit = { noExport: 1, noAdvertise: 2, noExportSubconfed: 4 } as const;

export class AttrSet {
  /** The canonical key this set is interned under. */
  readonly key: string;
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

  constructor(key: string, attrs: PathAttributes, nextHop: string, linkLocalNextHop: string | undefined) {
    this.key = key;
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

const hexOf = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

/** The canonical key of an attribute set plus its next hop(s). Field order is fixed. */
export function attrKey(attrs: PathAttributes, nextHop: string, linkLocalNextHop?: string): string {
  let k = `${nextHop}|${linkLocalNextHop ?? ''}|o${attrs.origin ?? ''}|a`;
  for (const seg of attrs.asPath ?? []) k += `${seg.type}:${seg.asns.join(',')};`;
  k += `|m${attrs.med ?? ''}|l${attrs.localPref ?? ''}|A${attrs.atomicAggregate ? 1 : ''}`;
  if (attrs.aggregator) k += `|g${attrs.aggregator.asn}@${attrs.aggregator.address}`;
  if (attrs.communities) k += `|c${attrs.communities.join(',')}`;
  if (attrs.originatorId !== undefined) k += `|r${attrs.originatorId}`;
  if (attrs.clusterList) k += `|C${attrs.clusterList.join(',')}`;
  if (attrs.extendedCommunities) k += `|x${attrs.extendedCommunities.join(',')}`;
  if (attrs.largeCommunities) {
    k += '|L';
    for (const c of attrs.largeCommunities) k += `${c.globalAdmin}:${c.localData1}:${c.localData2},`;
  }
  if (attrs.unknown) {
    k += '|u';
    for (const u of attrs.unknown) k += `${u.typeCode}/${u.flags}/${hexOf(u.value)},`;
  }
  return k;
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

/** The intern table: canonical key → the one shared `AttrSet`. */
export class AttrStore {
  readonly #sets = new Map<string, AttrSet>();

  /** The shared set for these attributes; not retained yet (see `retain`/`releaseIfUnused`). */
  intern(attrs: PathAttributes, nextHop: string, linkLocalNextHop?: string): AttrSet {
    const key = attrKey(attrs, nextHop, linkLocalNextHop);
    let set = this.#sets.get(key);
    if (set === undefined) {
      set = new AttrSet(key, freezeAttrs(attrs), nextHop, linkLocalNextHop);
      this.#sets.set(key, set);
    }
    return set;
  }

  retain(set: AttrSet, count = 1): void {
    AttrSet.adjust(set, count);
  }

  release(set: AttrSet): void {
    if (AttrSet.adjust(set, -1) <= 0) this.#sets.delete(set.key);
  }

  /** Forgets a set that `intern` returned but nothing retained. */
  releaseIfUnused(set: AttrSet): void {
    if (set.refCount <= 0) this.#sets.delete(set.key);
  }

  /** Number of distinct interned sets (exposed as a metric). */
  get size(): number {
    return this.#sets.size;
  }
}
