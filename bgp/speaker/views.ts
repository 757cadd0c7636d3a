// Text forms the REST API and `margayctl` show: RIB paths as PathView (communities in BIRD's
// notation, AS_PATH as "64512 64513 {1 2}"), capabilities as short display strings.
import { formatCommunity, formatExtendedCommunity, formatLargeCommunity } from '../communities.ts';
import type { PathView as RibPathView, RouteView } from '../rib/index.ts';
import { type AsPathSegment, AsPathSegmentType, type Capability, familyOf } from '../wire/index.ts';
import type { PathView } from './types.ts';

const ORIGIN_NAMES = ['igp', 'egp', 'incomplete'] as const;

/** "64512 64513 {1 2}"; confederation segments in parentheses, as BIRD and FRR print them. */
export function formatAsPath(segments: readonly AsPathSegment[]): string {
  const parts: string[] = [];
  for (const s of segments) {
    const asns = s.asns.join(' ');
    if (s.type === AsPathSegmentType.sequence) parts.push(asns);
    else if (s.type === AsPathSegmentType.set) parts.push(`{${asns}}`);
    else if (s.type === AsPathSegmentType.confedSequence) parts.push(`(${asns})`);
    else parts.push(`[${asns}]`);
  }
  return parts.filter((p) => p !== '').join(' ');
}

export interface PathViewContext {
  /** RIB peer id → peer address. */
  readonly addressOf: (ribId: string) => string;
  readonly isStale: (ribId: string) => boolean;
  /** The address a local route's 'self' next hop stands for, when known. */
  readonly selfNextHop?: string;
}

/** The API view of one path of a RIB route. */
export function toPathView(route: RouteView, p: RibPathView, ctx: PathViewContext): PathView {
  const why =
    p.rejected !== undefined
      ? `rejected: ${p.rejected}`
      : p.best
        ? (p.reason ?? 'best')
        : p.multipath
          ? 'multipath'
          : 'not best';
  const view: { -readonly [K in keyof PathView]: PathView[K] } = {
    prefix: route.prefix,
    family: route.family,
    nextHop: p.nextHop,
    asPath: formatAsPath(p.asPath),
    origin: ORIGIN_NAMES[p.origin] ?? 'incomplete',
    localPref: p.localPref,
    communities: p.communities.map(formatCommunity),
    largeCommunities: p.largeCommunities.map(formatLargeCommunity),
    extendedCommunities: p.extendedCommunities.map((c) => formatExtendedCommunity(BigInt(c))),
    clusterList: [...p.clusterList],
    fromPeer: p.fromPeer === null ? 'local' : ctx.addressOf(p.fromPeer),
    best: p.best,
    multipath: p.multipath,
    reason: why,
  };
  if (p.med !== undefined) view.med = p.med;
  if (p.originatorId !== undefined) view.originatorId = p.originatorId;
  if (p.fromPeer !== null && ctx.isStale(p.fromPeer)) view.stale = true;
  return view;
}

/** Short display strings, one per capability ("4-octet-as 64512", "graceful-restart 120s ..."). */
export function formatCapabilities(caps: readonly Capability[]): string[] {
  const out: string[] = [];
  for (const c of caps) {
    switch (c.kind) {
      case 'multiprotocol':
        out.push(`multiprotocol ${familyOf(c.afi, c.safi) ?? `afi ${c.afi} safi ${c.safi}`}`);
        break;
      case 'routeRefresh':
        out.push('route-refresh');
        break;
      case 'enhancedRouteRefresh':
        out.push('enhanced-route-refresh');
        break;
      case 'fourOctetAs':
        out.push(`4-octet-as ${c.asn}`);
        break;
      case 'gracefulRestart': {
        const fams = c.families.map(
          (f) => `${familyOf(f.afi, f.safi) ?? `${f.afi}/${f.safi}`}${f.forwardingPreserved ? '(F)' : ''}`,
        );
        const flags = `${c.restartState ? ' R' : ''}${c.notification ? ' N' : ''}`;
        out.push(`graceful-restart ${c.restartTime}s${flags}${fams.length > 0 ? ` ${fams.join(' ')}` : ''}`);
        break;
      }
      case 'longLivedGracefulRestart':
        out.push(
          `long-lived-graceful-restart${c.families
            .map(
              (f) =>
                ` ${familyOf(f.afi, f.safi) ?? `${f.afi}/${f.safi}`} ${f.staleTime}s${f.forwardingPreserved ? '(F)' : ''}`,
            )
            .join('')}`,
        );
        break;
      case 'extendedNextHop':
        out.push(
          `extended-next-hop ${c.entries
            .map(
              (e) =>
                `${familyOf(e.afi, e.safi) ?? `${e.afi}/${e.safi}`} via ${e.nextHopAfi === 2 ? 'ipv6' : 'ipv4'}`,
            )
            .join(', ')}`,
        );
        break;
      case 'addPath':
        out.push(
          `add-path ${c.entries.map((e) => `${familyOf(e.afi, e.safi) ?? `${e.afi}/${e.safi}`} ${e.mode}`).join(', ')}`,
        );
        break;
      case 'extendedMessage':
        out.push('extended-message');
        break;
      case 'fqdn':
        out.push(`fqdn ${c.domain === '' ? c.hostname : `${c.hostname}.${c.domain}`}`);
        break;
      case 'unknown':
        out.push(`capability ${c.code}`);
        break;
    }
  }
  return out;
}
