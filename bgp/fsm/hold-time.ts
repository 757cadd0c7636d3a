// BGP timers, RFC 4271 §4.2, §4.4 and §10: the one rule for a configured hold time and keepalive
// time (the speaker YAML, the margay.io resources and the FSM configuration all check it here),
// and their negotiation with the peer. Pure: the session uses these to reject an OPEN
// (Unacceptable Hold Time) and the FSM to arm its timers.
//
// The rule, in whole seconds:
// - hold time 0 or 3..65535: §4.2 "MUST be either zero or at least three seconds", in a
//   2-octet field;
// - keepalive time 0 exactly when the hold time is 0: §4.4, with hold time 0 periodic KEEPALIVEs
//   "MUST NOT be sent", and otherwise they must come before the peer's HoldTimer expires;
// - otherwise keepalive time 1..⌊hold time / 3⌋: §4.4 and §10 give a third of the hold time as
//   the reasonable maximum, so that two KEEPALIVEs may be lost before the hold time runs out.
// A missing keepalive time is ⌊hold time / 3⌋ (§10's suggested value).

export const HOLD_TIME_MIN = 3;
export const HOLD_TIME_MAX = 0xffff;
/** The largest keepalive time any hold time allows: ⌊65535 / 3⌋. */
export const KEEPALIVE_TIME_MAX = Math.floor(HOLD_TIME_MAX / 3);

/** What a hold time must be, as a validation message. */
export const HOLD_TIME_RULE = `must be 0 or ${HOLD_TIME_MIN}..${HOLD_TIME_MAX} seconds (RFC 4271 §4.2)`;

/**
 * RFC 4271 §4.2: "the Hold Time MUST be either zero or at least three seconds"; §6.2: an OPEN
 * with Hold Time 1 or 2 is rejected with OPEN Message Error / Unacceptable Hold Time (6).
 */
export function isAcceptableHoldTime(holdTime: number): boolean {
  return (
    Number.isInteger(holdTime) &&
    holdTime >= 0 &&
    holdTime <= HOLD_TIME_MAX &&
    holdTime !== 1 &&
    holdTime !== 2
  );
}

/** Why `holdTime` cannot be configured (a message for the field), or undefined when it can. */
export function holdTimeProblem(holdTime: unknown): string | undefined {
  return typeof holdTime === 'number' && isAcceptableHoldTime(holdTime) ? undefined : HOLD_TIME_RULE;
}

/** The largest keepalive time `holdTime` allows (0 for hold time 0). */
export function maxKeepaliveTime(holdTime: number): number {
  return Math.floor(holdTime / 3);
}

/** The keepalive time used when none is configured: a third of the hold time (RFC 4271 §10). */
export function defaultKeepaliveTime(holdTime: number): number {
  return maxKeepaliveTime(holdTime);
}

/**
 * Why `keepaliveTime` cannot be configured with the (acceptable) hold time `holdTime`, as a
 * message for the keepalive field that starts with the value; undefined when it can.
 */
export function keepaliveTimeProblem(keepaliveTime: unknown, holdTime: number): string | undefined {
  if (
    typeof keepaliveTime !== 'number' ||
    !Number.isInteger(keepaliveTime) ||
    keepaliveTime < 0 ||
    keepaliveTime > KEEPALIVE_TIME_MAX
  )
    return `${String(keepaliveTime)} is not a whole number of seconds 0..${KEEPALIVE_TIME_MAX}`;
  const max = maxKeepaliveTime(holdTime);
  const allowed = `with holdTime ${holdTime} it must be ${max === 1 ? '1 second' : `1..${max} seconds`}`;
  if (holdTime === 0)
    return keepaliveTime === 0
      ? undefined
      : `${keepaliveTime} with holdTime 0: must be 0, no KEEPALIVEs without a hold timer (RFC 4271 §4.4)`;
  if (keepaliveTime === 0) return `0 requires holdTime 0; ${allowed} (RFC 4271 §4.4)`;
  if (keepaliveTime > max)
    return `${keepaliveTime} is more than holdTime / 3; ${allowed} (RFC 4271 §4.4, §10)`;
  return undefined;
}

/**
 * The rule for a configured pair: the first field that breaks it and why, or undefined. An
 * absent keepalive time is always fine (it defaults to a third of the hold time).
 */
export function timersProblem(
  holdTime: unknown,
  keepaliveTime: unknown,
): { readonly field: 'holdTime' | 'keepaliveTime'; readonly message: string } | undefined {
  const hold = holdTimeProblem(holdTime);
  if (hold !== undefined) return { field: 'holdTime', message: hold };
  if (keepaliveTime === undefined) return undefined;
  const keepalive = keepaliveTimeProblem(keepaliveTime, holdTime as number);
  return keepalive === undefined ? undefined : { field: 'keepaliveTime', message: keepalive };
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
  return Math.max(1, Math.min(configuredKeepalive, maxKeepaliveTime(negotiatedHoldTime)));
}
