// The OPEN we send (RFC 4271 §4.2) and the capabilities in it (RFC 5492), built from the
// session's configuration. One function, so the OPEN a session sends and the OPEN it
// negotiates against are the same object.
import {
  type AddPathMode,
  AS_TRANS,
  afiSafiOf,
  BGP_VERSION,
  type Capability,
  type Family,
  type OpenMessage,
} from '../wire/index.ts';

export interface LocalOpenInput {
  /** Our AS on this session, 1..4294967295. */
  readonly asn: number;
  readonly routerId: string;
  /** The Hold Time we offer, s (0 or ≥ 3). */
  readonly holdTime: number;
  readonly families: readonly Family[];
  /** The peer is reached over IPv6: offer IPv4 NLRI with IPv6 next hops (RFC 8950). */
  readonly isIpv6Transport: boolean;
  /**
   * RFC 4724 Restart Time, s; 0 = no Graceful Restart capability, unless `longLivedStaleTime`
   * asks for one.
   */
  readonly gracefulRestartTime: number;
  /**
   * RFC 9494 Long-Lived Stale Time for every family, s (0..16777215); 0 or absent = no
   * Long-Lived Graceful Restart capability.
   */
  readonly longLivedStaleTime?: number;
  /** RFC 4724 §3 F bit for every family: our forwarding state survives a restart of this speaker. */
  readonly forwardingPreserved: boolean;
  /** RFC 4724 §3 R bit: this speaker has just restarted. */
  readonly isRestarting: boolean;
  /**
   * RFC 8538 §2 N bit: we handle NOTIFICATIONs gracefully (keep the peer's routes on any but a
   * Hard Reset, and send a Hard Reset when we mean a full reset).
   */
  readonly gracefulNotification: boolean;
  readonly hostname?: string;
  readonly domain?: string;
  /** RFC 7911 ADD-PATH Send/Receive for every family; absent: no ADD-PATH capability. */
  readonly addPaths?: AddPathMode;
}

export function buildLocalOpen(input: LocalOpenInput): OpenMessage {
  const caps: Capability[] = [];
  // RFC 4760 §8: one multiprotocol capability per family.
  for (const family of input.families) caps.push({ kind: 'multiprotocol', ...afiSafiOf(family) });
  // RFC 2918 route refresh, RFC 7313 enhanced route refresh.
  caps.push({ kind: 'routeRefresh' }, { kind: 'enhancedRouteRefresh' });
  // RFC 6793 §3: the real AS goes in the capability, AS_TRANS in My AS when it does not fit.
  caps.push({ kind: 'fourOctetAs', asn: input.asn });
  const longLivedStaleTime = input.longLivedStaleTime ?? 0;
  // RFC 9494 §4.1: the LLGR capability goes with the GR capability, whose Restart Time may be 0.
  if (input.gracefulRestartTime > 0 || longLivedStaleTime > 0) {
    // RFC 4724 §3: restart time is 12 bits.
    caps.push({
      kind: 'gracefulRestart',
      restartState: input.isRestarting,
      notification: input.gracefulNotification,
      restartTime: Math.min(input.gracefulRestartTime, 0xfff),
      families: input.families.map((f) => ({
        ...afiSafiOf(f),
        forwardingPreserved: input.forwardingPreserved,
      })),
    });
  }
  if (longLivedStaleTime > 0) {
    // RFC 9494 §2: the F bit as in the GR capability; the stale time is 24 bits.
    caps.push({
      kind: 'longLivedGracefulRestart',
      families: input.families.map((f) => ({
        ...afiSafiOf(f),
        forwardingPreserved: input.forwardingPreserved,
        staleTime: Math.min(longLivedStaleTime, 0xffffff),
      })),
    });
  }
  if (input.isIpv6Transport && input.families.includes('ipv4-unicast')) {
    // RFC 8950 §3: IPv4 unicast NLRI with an IPv6 next hop.
    caps.push({ kind: 'extendedNextHop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] });
  }
  // RFC 8654.
  caps.push({ kind: 'extendedMessage' });
  if (input.addPaths !== undefined) {
    // RFC 7911 §4: one <AFI, SAFI, Send/Receive> entry per family.
    const mode = input.addPaths;
    caps.push({ kind: 'addPath', entries: input.families.map((f) => ({ ...afiSafiOf(f), mode })) });
  }
  if (input.hostname !== undefined && input.hostname !== '') {
    caps.push({ kind: 'fqdn', hostname: input.hostname, domain: input.domain ?? '' });
  }
  return {
    type: 'open',
    version: BGP_VERSION,
    myAsn: input.asn > 0xffff ? AS_TRANS : input.asn,
    holdTime: input.holdTime,
    bgpId: input.routerId,
    capabilities: caps,
  };
}
