// Builders shared by the RIB tests: peers, UPDATE messages, and a RIB with recorded events.

import type { BestPathChanged, PendingBatch, RibOptions, RibPeer } from '../../../../bgp/rib/index.ts';
import { Rib } from '../../../../bgp/rib/index.ts';
import { PrefixList } from '../../../../bgp/wire/prefix-list.ts';
import type { AsPathSegment, Family, PathAttributes, UpdateMessage } from '../../../../bgp/wire/types.ts';

export const LOCAL_AS = 65000;
export const ROUTER_ID = '10.255.0.1';

export const seq = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
export const set = (...asns: number[]): AsPathSegment => ({ type: 1, asns });

export interface PeerSpec extends Partial<RibPeer> {
  readonly id: string;
  /** BGP identifier given at peerUp; defaults to the address. */
  readonly bgpId?: string;
}

/** A peer config: address = id unless given, iBGP unless `asn` says otherwise. */
export function peer(spec: PeerSpec): RibPeer {
  return {
    address: spec.id,
    asn: LOCAL_AS,
    localAsn: LOCAL_AS,
    families: ['ipv4-unicast', 'ipv6-unicast'],
    localAddressV4: '192.0.2.254',
    localAddressV6: '2001:db8::fe',
    ...spec,
  };
}

export interface TestRib {
  readonly rib: Rib;
  readonly events: BestPathChanged[];
  readonly pending: string[];
}

/** A RIB with the given peers configured and Established. */
export function makeRib(peers: readonly PeerSpec[], options: Partial<RibOptions> = {}): TestRib {
  const events: BestPathChanged[] = [];
  const pending: string[] = [];
  const rib = new Rib({
    routerId: ROUTER_ID,
    onBestPathChanged: (e) => events.push(e),
    onExportPending: (id, family) => pending.push(`${id}/${family}`),
    ...options,
  });
  for (const spec of peers) {
    rib.addPeer(peer(spec));
    rib.peerUp(spec.id, { routerId: spec.bgpId ?? spec.address ?? spec.id });
  }
  return { rib, events, pending };
}

export interface AnnounceSpec {
  readonly prefixes: readonly string[];
  readonly nextHop?: string;
  readonly attrs?: PathAttributes;
  readonly pathIds?: readonly number[];
}

const familyCodes = (prefix: string) =>
  prefix.includes(':') ? ({ afi: 2, safi: 1 } as const) : ({ afi: 1, safi: 1 } as const);

/** An UPDATE announcing `prefixes` (one family) with default attributes overridable. */
export function announce(spec: AnnounceSpec): UpdateMessage {
  const first = spec.prefixes[0] ?? '0.0.0.0/0';
  const codes = familyCodes(first);
  const nextHop = spec.nextHop ?? (codes.afi === 2 ? '2001:db8::1' : '192.0.2.1');
  return {
    type: 'update',
    withdrawn: [],
    reach: [
      {
        ...codes,
        prefixes: PrefixList.parse(codes.afi, spec.prefixes),
        nextHop,
        ...(spec.pathIds !== undefined && { pathIds: spec.pathIds }),
      },
    ],
    attributes: { origin: 0, asPath: [], ...spec.attrs },
  };
}

export function withdraw(prefixes: readonly string[], pathIds?: readonly number[]): UpdateMessage {
  const codes = familyCodes(prefixes[0] ?? '0.0.0.0/0');
  return {
    type: 'update',
    withdrawn: [
      {
        ...codes,
        prefixes: PrefixList.parse(codes.afi, prefixes),
        ...(pathIds !== undefined && { pathIds }),
      },
    ],
    reach: [],
    attributes: {},
  };
}

/** Pulls everything pending for a peer, returning the batches. */
export function drain(
  rib: Rib,
  peerId: string,
  family: Family = 'ipv4-unicast',
  budget?: number,
): PendingBatch[] {
  const batches: PendingBatch[] = [];
  for (let i = 0; i < 10_000; i++) {
    const b = rib.takePending(peerId, family, budget);
    batches.push(b);
    if (!b.hasMore) return batches;
  }
  throw new Error('takePending never reported hasMore: false');
}

/** The Adj-RIB-Out of a peer after draining it: prefix → exported attributes + next hop. */
export function advertisedTo(
  rib: Rib,
  peerId: string,
  family: Family = 'ipv4-unicast',
): Map<string, PathAttributes & { nextHop: string }> {
  drain(rib, peerId, family);
  const out = new Map<string, PathAttributes & { nextHop: string }>();
  for (const [prefix, s] of rib.advertised(peerId, family))
    out.set(prefix, { ...s.attrs, nextHop: s.nextHop });
  return out;
}

/** The best path's peer id (null = local route) and reason for a prefix. */
export function bestOf(rib: Rib, prefix: string): { from: string | null | undefined; reason: string | null } {
  const d = rib.getDest(prefix);
  return {
    from: d?.best === null || d === undefined ? undefined : (d.best.peer?.id ?? null),
    reason: d?.reason ?? null,
  };
}

/** A batch with its prefix lists as arrays of text, for comparisons. */
export function plainBatch(b: PendingBatch): {
  withdrawn: string[];
  announced: { attrs: PendingBatch['announced'][number]['attrs']; prefixes: string[] }[];
  endOfRib: boolean;
  hasMore: boolean;
} {
  return {
    withdrawn: b.withdrawn.toArray(),
    announced: b.announced.map((g) => ({ attrs: g.attrs, prefixes: g.prefixes.toArray() })),
    endOfRib: b.endOfRib,
    hasMore: b.hasMore,
  };
}
