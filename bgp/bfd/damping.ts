// Damping of a flapping BFD session, as pure functions of an immutable state and the time (ms).
//
// A failure is the session going from Up to Down because the path failed: the Detection Time
// expired or the peer said Down. The peer's AdminDown and our own are not failures. Each failure
// raises the penalty level by one; before that, the level falls by one for every full
// DAMPING.stableMs the session had been Up, so a session that stays Up long enough starts again
// from zero. After a failure the session is held in Down (it answers the peer with Down and does
// not go to Init or Up) for
//
//   level 1 (a single failure):  no hold
//   level n ≥ 2:                 firstHoldMs × 2^(n−2), at most maxHoldMs
//
// that is 0, 2, 4, 8, 16, 32, 64, 120, 120 … s for repeated failures with short Ups in between.
// A session that is held cannot come Up, so it cannot fail again: the BGP session it guards goes
// down at most once per hold, and while held, BGP runs without BFD (on its hold timer). The numbers
// are fixed: BIRD, FRR and Calico have no setting of this name to follow.
export const DAMPING = {
  /** The hold after the second failure in a row, ms; each further one doubles it. */
  firstHoldMs: 2_000,
  /** The longest hold, ms. */
  maxHoldMs: 120_000,
  /** Up time that takes one level off the penalty, ms. */
  stableMs: 5_000,
} as const;

export interface Damping {
  /** The penalty level: failures not yet forgiven by stable Up time. */
  readonly level: number;
  /** When the session last came Up, or null while it is not Up. */
  readonly upSince: number | null;
  /** Until when the session is held in Down, or null when it is not held. */
  readonly holdUntil: number | null;
  /** Failures in the session's life. */
  readonly failures: number;
  /** Failures that started a hold. */
  readonly holds: number;
}

export const NO_DAMPING: Damping = { level: 0, upSince: null, holdUntil: null, failures: 0, holds: 0 };

/** The hold after a failure that leaves the penalty at `level`, ms. */
export function holdMs(level: number): number {
  if (level < 2) return 0;
  return Math.min(DAMPING.maxHoldMs, DAMPING.firstHoldMs * 2 ** (level - 2));
}

/** The session came Up at `now`. */
export function dampingUp(d: Damping, now: number): Damping {
  return { ...d, upSince: now, holdUntil: null };
}

/** The session failed at `now`: the new level and the hold it starts. */
export function dampingFailure(d: Damping, now: number): Damping {
  const upFor = d.upSince === null ? 0 : Math.max(0, now - d.upSince);
  const level = Math.max(0, d.level - Math.floor(upFor / DAMPING.stableMs)) + 1;
  const hold = holdMs(level);
  return {
    level,
    upSince: null,
    holdUntil: hold > 0 ? now + hold : null,
    failures: d.failures + 1,
    holds: d.holds + (hold > 0 ? 1 : 0),
  };
}

/** The session left Up for another reason than a failure (AdminDown on either side). */
export function dampingDown(d: Damping): Damping {
  return { ...d, upSince: null };
}

/** Whether the session is held in Down at `now`. */
export function held(d: Damping, now: number): boolean {
  return d.holdUntil !== null && now < d.holdUntil;
}

/** How long the hold still lasts at `now`, ms (0 when not held). */
export function heldForMs(d: Damping, now: number): number {
  return held(d, now) ? (d.holdUntil as number) - now : 0;
}
