// Connection collision detection, RFC 4271 §6.8, as a pure decision. The session layer runs
// one FSM per TCP connection while two exist; when an OPEN arrives on one of them it asks
// which connection survives and feeds OpenCollisionDump to the loser's FSM, which sends
// Cease / Connection Collision Resolution (RFC 4486 subcode 7).
//
// The rule is about who INITIATED each connection, not which came first: "the connection
// initiated by the BGP speaker with the higher-valued BGP Identifier" is kept. Identifiers
// are compared as unsigned 32-bit integers — comparing dotted quads as strings ("10.0.0.9" >
// "10.0.0.10") or as signed int32 (128.0.0.0 < 1.0.0.0) picks different winners on each side
// and kills both connections.
import { ipv4ToNumber } from '../addr.ts';
import { CeaseSubcode, NotifyCode } from '../wire/types.ts';
import type { FsmStateName } from './types.ts';

export type ConnectionDirection = 'incoming' | 'outgoing';

export interface CollisionConnection {
  /** outgoing = we initiated it (Tcp_CR_Acked); incoming = the peer did (TcpConnectionConfirmed). */
  readonly direction: ConnectionDirection;
  readonly state: FsmStateName;
}

export interface CollisionInput {
  /** BGP Identifiers, dotted quad or the unsigned 32-bit number. */
  readonly localId: string | number;
  readonly remoteId: string | number;
  /** The connection that existed before. */
  readonly existing: CollisionConnection;
  /** The connection on which the OPEN just arrived (its FSM is in OpenSent). */
  readonly arriving: CollisionConnection;
  /** RFC 6286 §2.3 tie-break when the identifiers are equal (eBGP only). */
  readonly localAsn?: number;
  readonly remoteAsn?: number;
}

export type CollisionRule =
  | 'established'
  | 'bgpIdentifier'
  | 'asNumber'
  | 'identicalIdentifiers'
  | 'sameDirection';

export type CollisionDecision =
  | { readonly kind: 'noCollision' }
  | {
      readonly kind: 'close';
      /** Feed OpenCollisionDump to this connection's FSM. */
      readonly close: 'existing' | 'arriving';
      readonly closeDirection: ConnectionDirection;
      readonly rule: CollisionRule;
      /** What the closed connection's NOTIFICATION carries. */
      readonly code: typeof NotifyCode.cease;
      readonly subcode: typeof CeaseSubcode.connectionCollisionResolution;
    };

/** A BGP Identifier as an unsigned 32-bit number; NaN when it is not a valid dotted quad. */
export function bgpIdToNumber(id: string | number): number {
  if (typeof id === 'number') return Number.isInteger(id) && id >= 0 && id <= 0xffffffff ? id : Number.NaN;
  const n = ipv4ToNumber(id);
  return n < 0 ? Number.NaN : n;
}

function close(
  input: CollisionInput,
  which: 'existing' | 'arriving',
  rule: CollisionRule,
): CollisionDecision {
  return {
    kind: 'close',
    close: which,
    closeDirection: input[which].direction,
    rule,
    code: NotifyCode.cease,
    subcode: CeaseSubcode.connectionCollisionResolution,
  };
}

/**
 * RFC 4271 §6.8. No collision unless the other connection has got far enough to be a BGP
 * connection to the same peer: OpenConfirm, or OpenSent (the remote identifier is known "by
 * other means": the OPEN that just arrived), or Established — which always wins: "collision
 * with existing BGP connection that is in the Established state causes closing of the newly
 * created connection". Otherwise the connection initiated by the lower identifier closes.
 */
export function resolveCollision(input: CollisionInput): CollisionDecision {
  const { existing, arriving } = input;
  if (existing.state === 'Established') return close(input, 'arriving', 'established');
  if (arriving.state === 'Established') return close(input, 'existing', 'established');
  if (existing.state !== 'OpenSent' && existing.state !== 'OpenConfirm') return { kind: 'noCollision' };
  if (existing.direction === arriving.direction) {
    // Two connections initiated by the same side cannot be told apart by initiator; keep the
    // older one (the session should never create this).
    return close(input, 'arriving', 'sameDirection');
  }
  const local = bgpIdToNumber(input.localId);
  const remote = bgpIdToNumber(input.remoteId);
  // The loser is whichever connection the lower-valued speaker initiated.
  const loserDirection = (lowerIsLocal: boolean): ConnectionDirection =>
    lowerIsLocal ? 'outgoing' : 'incoming';
  const pickLoser = (dir: ConnectionDirection): 'existing' | 'arriving' =>
    existing.direction === dir ? 'existing' : 'arriving';
  if (local !== remote) {
    // RFC 4271 §6.8 step 2/3, written by initiator rather than by age.
    return close(input, pickLoser(loserDirection(local < remote)), 'bgpIdentifier');
  }
  // RFC 6286 §2.3: equal identifiers (possible only between different ASes) — the connection
  // initiated by the speaker with the larger AS number is kept.
  const { localAsn, remoteAsn } = input;
  if (localAsn !== undefined && remoteAsn !== undefined && localAsn !== remoteAsn) {
    return close(input, pickLoser(loserDirection(localAsn < remoteAsn)), 'asNumber');
  }
  // Same identifier and AS: the OPEN should have been refused with Bad BGP Identifier
  // (RFC 6286 §2.2). Keeping the existing connection is the one choice that cannot close both.
  return close(input, 'arriving', 'identicalIdentifiers');
}
