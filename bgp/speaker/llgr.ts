// RFC 9494 §4.2: turning a stale RIB peer's routes of one family into long-lived stale routes.
// Each route is announced again from the same RIB peer with the LLGR_STALE community added, so
// the ordinary machinery does the rest: the decision process puts it after every route without
// the community (decision.ts), the export step sends it only to peers that advertised the LLGR
// capability and withdraws it from the others (export.ts), and the API shows the community.
// Routes that carry NO_LLGR are withdrawn instead.
//
// Routes are grouped by attribute set and path id, so a table whose routes share a few
// attribute sets becomes a few RIB updates. The walk is synchronous: it lists the family once
// (every prefix of the peer), which is fine for the tables a ToR or a mesh peer sends.
import { type AttrSet, type Dest, type Path, type Rib, WellKnownBit } from '../rib/index.ts';
import { afiSafiOf, type Family, PrefixList, type ReachBlock, WellKnownCommunity } from '../wire/index.ts';

export interface LongLivedMarking {
  /** Routes now carrying LLGR_STALE. */
  readonly kept: number;
  /** Routes withdrawn because they carry NO_LLGR. */
  readonly dropped: number;
}

function pathsOf(dest: Dest): readonly Path[] {
  const p = dest.paths;
  return p === null ? [] : Array.isArray(p) ? p : [p];
}

/** Marks every route of RIB peer `ribId` in `family` as long-lived stale (see the file header). */
export function markLongLivedStale(rib: Rib, ribId: string, family: Family): LongLivedMarking {
  const groups = new Map<AttrSet, Map<number, string[]>>();
  const dropped: string[] = [];
  const droppedIds: number[] = [];
  for (const route of rib.listRoutes({ fromPeers: [ribId], family })) {
    const dest = rib.getDest(route.prefix);
    if (dest === undefined) continue;
    for (const path of pathsOf(dest)) {
      if (path.peer?.id !== ribId) continue;
      const bits = path.attrs.wellKnown;
      if ((bits & WellKnownBit.noLlgr) !== 0) {
        // RFC 9494 §4.2: a route with NO_LLGR is not retained.
        dropped.push(route.prefix);
        droppedIds.push(path.pathId);
        continue;
      }
      if ((bits & WellKnownBit.llgrStale) !== 0) continue;
      let byId = groups.get(path.attrs);
      if (byId === undefined) {
        byId = new Map();
        groups.set(path.attrs, byId);
      }
      const list = byId.get(path.pathId);
      if (list === undefined) byId.set(path.pathId, [route.prefix]);
      else list.push(route.prefix);
    }
  }
  const { afi, safi } = afiSafiOf(family);
  const hasPathIds = droppedIds.some((id) => id !== 0);
  if (dropped.length > 0) {
    rib.applyUpdate(ribId, {
      type: 'update',
      withdrawn: [
        {
          afi,
          safi,
          prefixes: PrefixList.parse(afi, dropped),
          ...(hasPathIds && { pathIds: droppedIds }),
        },
      ],
      reach: [],
      attributes: {},
    });
  }
  let kept = 0;
  for (const [set, byId] of groups) {
    // RFC 9494 §4.2: "the LLGR_STALE community MUST be attached" to each retained route.
    const attributes = {
      ...set.attrs,
      communities: [...(set.attrs.communities ?? []), WellKnownCommunity.llgrStale],
    };
    for (const [pathId, prefixes] of byId) {
      kept += prefixes.length;
      const block: ReachBlock = {
        afi,
        safi,
        prefixes: PrefixList.parse(afi, prefixes),
        nextHop: set.nextHop,
        ...(set.linkLocalNextHop !== undefined && { linkLocalNextHop: set.linkLocalNextHop }),
        ...(pathId !== 0 && { pathIds: prefixes.map(() => pathId) }),
      };
      rib.applyUpdate(ribId, { type: 'update', withdrawn: [], reach: [block], attributes });
    }
  }
  return { kept, dropped: dropped.length };
}
