// What two OPENs agree on: the options the codec needs for UPDATEs and the session timers.
//
// Decisions:
// - A capability that changes the encoding (4-octet AS, Extended Message, Extended Next Hop
//   for IPv4 unicast) applies only when both sides advertised it (RFC 6793 §4, RFC 8654 §3,
//   RFC 8950 §3; BIRD requires both too).
// - ADD-PATH per family (RFC 7911 §4): we receive path ids when we advertised receive/both and
//   the peer send/both, and send them in the mirror case; only for families both support.
// - routeRefresh / enhancedRouteRefresh say what the peer advertised: they gate what we may
//   send it (RFC 2918 §4, RFC 7313 §4).
// - gracefulNotification (RFC 8538 §2, §4): both sides advertised the N bit; like FRR
//   (`bgp_has_graceful_restart_notification`: N advertised AND received), one side is not enough.
// - longLivedGracefulRestart (RFC 9494 §4.1): the peer's LLGR capability, kept only when the
//   same OPEN carries the Graceful Restart capability (its Restart Time may be 0).
// - codec.ebgp: the ASes in the two OPENs differ. The UPDATE decoder needs it for the attributes
//   an external peer must not send (RFC 7606 §7.5, §7.9, §7.10) and for confederation segments
//   in AS_PATH, which only our own AS may send (RFC 5065 §5).

import { familyOf } from './family.ts';
import { peerAsnOf } from './open.ts';
import {
  type AddPathMode,
  type Capability,
  type CodecOptions,
  FAMILIES,
  type Family,
  type GracefulRestartCapability,
  type LongLivedGracefulRestartCapability,
  type Negotiated,
  type OpenMessage,
} from './types.ts';

function familiesOf(caps: readonly Capability[]): Set<Family> {
  const out = new Set<Family>();
  let any = false;
  for (const c of caps) {
    if (c.kind !== 'multiprotocol') continue;
    any = true;
    const f = familyOf(c.afi, c.safi);
    if (f) out.add(f);
  }
  // RFC 4760 §8: a speaker that advertises no multiprotocol capability carries IPv4 unicast.
  if (!any) out.add('ipv4-unicast');
  return out;
}

function addPathModes(caps: readonly Capability[]): Map<Family, AddPathMode> {
  const out = new Map<Family, AddPathMode>();
  for (const c of caps) {
    if (c.kind !== 'addPath') continue;
    for (const e of c.entries) {
      const f = familyOf(e.afi, e.safi);
      if (f) out.set(f, e.mode);
    }
  }
  return out;
}

const canSend = (m: AddPathMode | undefined) => m === 'send' || m === 'both';
const canReceive = (m: AddPathMode | undefined) => m === 'receive' || m === 'both';

function has(caps: readonly Capability[], kind: Capability['kind']): boolean {
  return caps.some((c) => c.kind === kind);
}

function ipv4OverIpv6(caps: readonly Capability[]): boolean {
  return caps.some(
    (c) =>
      c.kind === 'extendedNextHop' &&
      c.entries.some((e) => e.afi === 1 && e.safi === 1 && e.nextHopAfi === 2),
  );
}

export function negotiate(local: OpenMessage, remote: OpenMessage): Negotiated {
  const lc = local.capabilities;
  const rc = remote.capabilities;
  const localFamilies = familiesOf(lc);
  const remoteFamilies = familiesOf(rc);
  const families = FAMILIES.filter((f) => localFamilies.has(f) && remoteFamilies.has(f));

  const localAddPath = addPathModes(lc);
  const remoteAddPath = addPathModes(rc);
  const addPathReceive = new Set<Family>();
  const addPathSend = new Set<Family>();
  for (const f of families) {
    if (canReceive(localAddPath.get(f)) && canSend(remoteAddPath.get(f))) addPathReceive.add(f);
    if (canSend(localAddPath.get(f)) && canReceive(remoteAddPath.get(f))) addPathSend.add(f);
  }

  const codec: CodecOptions = {
    fourOctetAs: has(lc, 'fourOctetAs') && has(rc, 'fourOctetAs'),
    extendedMessages: has(lc, 'extendedMessage') && has(rc, 'extendedMessage'),
    addPathReceive,
    addPathSend,
    extendedNextHopIpv4: ipv4OverIpv6(lc) && ipv4OverIpv6(rc),
    // Our OPEN carries our AS on this session, the peer's OPEN its AS.
    ebgp: peerAsnOf(local) !== peerAsnOf(remote),
  };

  // RFC 4271 §4.2: the smaller Hold Time; KEEPALIVE every third of it.
  const holdTime = Math.min(local.holdTime, remote.holdTime);
  const gracefulRestart = rc.find((c): c is GracefulRestartCapability => c.kind === 'gracefulRestart');
  const localGracefulRestart = lc.find((c): c is GracefulRestartCapability => c.kind === 'gracefulRestart');
  const out: Negotiated = {
    codec,
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    families,
    peerAsn: peerAsnOf(remote),
    routeRefresh: has(rc, 'routeRefresh'),
    enhancedRouteRefresh: has(rc, 'enhancedRouteRefresh'),
    // RFC 8538 §4: the N bit counts only when both OPENs carry it.
    gracefulNotification:
      gracefulRestart?.notification === true && localGracefulRestart?.notification === true,
    remoteCapabilities: rc,
  };
  if (gracefulRestart === undefined) return out;
  const longLivedGracefulRestart = rc.find(
    (c): c is LongLivedGracefulRestartCapability => c.kind === 'longLivedGracefulRestart',
  );
  return longLivedGracefulRestart === undefined
    ? { ...out, gracefulRestart }
    : { ...out, gracefulRestart, longLivedGracefulRestart };
}
