// Timer arithmetic for the FSM. The state holds absolute deadlines; a session keeps ONE
// host timer armed at `nextDeadline(state)` and, when it fires, feeds the events
// `expiredTimers(state, now)` returns (or calls `fireDueTimers`). Durations are computed
// here from the injected random so that backoff and jitter are replayable in tests.
import type { FsmConfig, FsmEvent, FsmState, TimerName } from './types.ts';
import { TIMER_NAMES } from './types.ts';

/** The event each timer raises when it expires (RFC 4271 §8.1.3 Events 9-13). */
export const TIMER_EVENTS = {
  connectRetry: 'ConnectRetryTimer_Expires',
  hold: 'HoldTimer_Expires',
  keepalive: 'KeepaliveTimer_Expires',
  delayOpen: 'DelayOpenTimer_Expires',
  idleHold: 'IdleHoldTimer_Expires',
} as const satisfies Record<TimerName, FsmEvent['type']>;

export type TimerEventType = (typeof TIMER_EVENTS)[TimerName];

/** The timer behind a `*Timer_Expires` event, or null for any other event. */
export function timerOfEvent(type: FsmEvent['type']): TimerName | null {
  for (const timer of TIMER_NAMES) if (TIMER_EVENTS[timer] === type) return timer;
  return null;
}

function unit(random: () => number): number {
  const r = random();
  // A broken injected random must not produce NaN deadlines or negative delays.
  return Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0.5;
}

/**
 * ConnectRetryTimer duration, ms, for the `attempt`-th start since ManualStart/Established:
 * connectRetryTime · 2^attempt capped at connectRetryMaxTime, times a uniform factor in
 * [1 − jitter, 1 + jitter]. RFC 4271 §10 asks for jitter on the ConnectRetryTimer; the
 * exponential backoff is BIRD's and GoBGP's answer to a fast first retry.
 */
export function connectRetryDelayMs(config: FsmConfig, attempt: number, random: () => number): number {
  const base = Math.min(config.connectRetryMaxTime, config.connectRetryTime * 2 ** Math.min(attempt, 30));
  const factor = 1 - config.connectRetryJitter + 2 * config.connectRetryJitter * unit(random);
  return Math.round(base * 1000 * factor);
}

/**
 * KeepaliveTimer duration, ms. RFC 4271 §10: jitter "uniformly distributed in the range from
 * 0.75 to 1.0" — only ever earlier, so it can never let the peer's HoldTimer expire.
 */
export function keepaliveDelayMs(keepaliveTime: number, random: () => number): number {
  return Math.round(keepaliveTime * 1000 * (1 - 0.25 * unit(random)));
}

export interface Deadline {
  readonly timer: TimerName;
  readonly at: number;
}

/** Running timers ordered by deadline; ties keep TIMER_NAMES order (hold before keepalive). */
function pending(state: FsmState): Deadline[] {
  const out: Deadline[] = [];
  for (const timer of TIMER_NAMES) {
    const at = state.timers[timer];
    if (at !== null) out.push({ timer, at });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** The earliest running timer, or null when none runs: arm the one host timer for `at`. */
export function nextDeadline(state: FsmState): Deadline | null {
  // As pending(state)[0], without the array: the session asks after every message.
  let timer: TimerName | undefined;
  let at = Number.POSITIVE_INFINITY;
  for (const t of TIMER_NAMES) {
    const x = state.timers[t];
    if (x !== null && x < at) {
      timer = t;
      at = x;
    }
  }
  return timer === undefined ? null : { timer, at };
}

/**
 * The expiry events due at `now`, earliest first. Feed the first to `step` and ask again:
 * a step may stop the other timers (HoldTimer_Expires ends the session and its keepalives).
 */
export function expiredTimers(state: FsmState, now: number): FsmEvent[] {
  return pending(state)
    .filter((d) => d.at <= now)
    .map((d) => ({ type: TIMER_EVENTS[d.timer] }));
}
