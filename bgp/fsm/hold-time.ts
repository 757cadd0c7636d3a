// Hold time and keepalive negotiation, RFC 4271 §4.2 and §10. Pure: the session uses these
// to reject an OPEN (Unacceptable Hold Time) and the FSM to arm its timers.

/**
 * RFC 4271 §4.2: "the Hold Time MUST be either zero or at least three seconds"; §6.2: an OPEN
 * with Hold Time 1 or 2 is rejected with OPEN Message Error / Unacceptable Hold Time (6).
 */
export function isAcceptableHoldTime(holdTime: number): boolean {
  return (
    Number.isInteger(holdTime) && holdTime >= 0 && holdTime <= 0xffff && holdTime !== 1 && holdTime !== 2
  );
}

/**
 * RFC 4271 §4.2: "the smaller of its configured Hold Time and the Hold Time received in the
 * OPEN message". Both must be acceptable (`isAcceptableHoldTime`); 0 means no KEEPALIVEs and
 * no HoldTimer for the session.
 */
export function negotiateHoldTime(local: number, remote: number): number {
  return Math.min(local, remote);
}

/**
 * The KeepaliveTime used with a negotiated hold time: 0 when the hold time is 0 (RFC 4271
 * §4.4 "MUST NOT" send KEEPALIVEs then), otherwise the configured value but never more than a
 * third of the negotiated hold time (RFC 4271 §4.4, §10) — a peer that offered a shorter hold
 * time than ours would otherwise expire us.
 */
export function negotiateKeepaliveTime(configuredKeepalive: number, negotiatedHoldTime: number): number {
  if (negotiatedHoldTime === 0) return 0;
  return Math.max(1, Math.min(configuredKeepalive, Math.floor(negotiatedHoldTime / 3)));
}
