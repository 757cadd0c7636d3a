// One BFD session in asynchronous mode (RFC 5880 §6) as pure functions over an immutable state.
//
// Time is an argument (milliseconds, any monotonic origin) and randomness is injected, so a test
// drives a session with fake time exactly as the transport drives it with the clock. The host
// keeps one timer armed at nextDeadline(state) and calls tick() when it fires; receive() takes
// a decoded packet that the session table already matched to this session. Every function
// returns the new state, the packets to send now, and the state change if there was one.
//
// Intervals are microseconds, as on the wire. What is implemented: the state machine with
// AdminDown (§6.8.6, §6.8.16), the Detection Time (§6.8.4), the transmit interval with jitter
// (§6.8.7), the one-second floor on the transmit interval while not Up and the Poll Sequence on
// a change of timers while Up (§6.8.3), an immediate Final in reply to a Poll, and the damping
// of a flapping session (damping.ts: after repeated failures it is held in Down for a while). Not
// implemented: the Echo function (Required Min Echo RX is sent as 0), Demand mode on the local
// side, authentication.
import { type Damping, dampingDown, dampingFailure, dampingUp, held, NO_DAMPING } from './damping.ts';
import type { BfdState, ControlPacket } from './packet.ts';
import { BFD_DIAGS } from './packet.ts';

export interface BfdTimers {
  /** Desired Min TX Interval, µs. */
  readonly desiredMinTxUs: number;
  /** Required Min RX Interval, µs. */
  readonly requiredMinRxUs: number;
  /** Detect Mult. */
  readonly detectMult: number;
}

/** While the session is not Up, the transmit interval is at least one second (§6.8.3). */
export const SLOW_TX_US = 1_000_000;

export interface BfdSession {
  readonly timers: BfdTimers;
  readonly state: BfdState;
  readonly remoteState: BfdState;
  readonly localDiscr: number;
  readonly remoteDiscr: number;
  readonly localDiag: number;
  /** bfd.DesiredMinTxInterval as sent in packets. */
  readonly desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval as sent in packets. */
  readonly requiredMinRxUs: number;
  /** The local transmit value in use; lags desiredMinTxUs on an increase until the Poll ends. */
  readonly txInUseUs: number;
  /** The local receive value in use for the Detection Time; lags a decrease until the Poll ends. */
  readonly rxInUseUs: number;
  readonly remoteMinRxUs: number;
  readonly remoteDesiredMinTxUs: number;
  readonly remoteDetectMult: number;
  readonly remoteDemand: boolean;
  /** A Poll Sequence is in progress: every packet sent has P set until a Final arrives. */
  readonly polling: boolean;
  /** When the next periodic packet is due, or null when none is (see transmitting()). */
  readonly nextTxAt: number | null;
  /** When the Detection Time expires, or null before a packet arrives or after it expired. */
  readonly detectAt: number | null;
  /** The flap penalty and the hold in Down it imposes (damping.ts). */
  readonly damping: Damping;
}

export interface Transition {
  readonly from: BfdState;
  readonly to: BfdState;
  /** The local diagnostic code after the change. */
  readonly diag: number;
}

export interface BfdStep {
  readonly session: BfdSession;
  readonly send: readonly ControlPacket[];
  readonly transition: Transition | null;
}

/** Why a set of timers is not acceptable, or undefined. */
export function timersProblem(t: BfdTimers): string | undefined {
  const u32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
  if (!u32(t.desiredMinTxUs) || t.desiredMinTxUs === 0)
    return `desired min TX ${t.desiredMinTxUs} µs is not 1..2^32-1`;
  if (!u32(t.requiredMinRxUs)) return `required min RX ${t.requiredMinRxUs} µs is not 0..2^32-1`;
  if (!Number.isInteger(t.detectMult) || t.detectMult < 1 || t.detectMult > 255)
    return `detect multiplier ${t.detectMult} is not 1..255`;
  return undefined;
}

/** A new session in Down, transmitting at once. localDiscr must be non-zero and unique. */
export function newSession(timers: BfdTimers, localDiscr: number, now: number): BfdSession {
  const problem = timersProblem(timers);
  if (problem !== undefined) throw new RangeError(`BFD ${problem}`);
  if (!Number.isInteger(localDiscr) || localDiscr < 1 || localDiscr > 0xffff_ffff)
    throw new RangeError(`BFD local discriminator ${localDiscr} is not 1..2^32-1`);
  const tx = Math.max(timers.desiredMinTxUs, SLOW_TX_US);
  return {
    timers,
    state: 'Down',
    remoteState: 'Down',
    localDiscr,
    remoteDiscr: 0,
    localDiag: BFD_DIAGS.none,
    desiredMinTxUs: tx,
    requiredMinRxUs: timers.requiredMinRxUs,
    txInUseUs: tx,
    rxInUseUs: timers.requiredMinRxUs,
    remoteMinRxUs: 1,
    remoteDesiredMinTxUs: 0,
    remoteDetectMult: 0,
    remoteDemand: false,
    polling: false,
    nextTxAt: now,
    detectAt: null,
    damping: NO_DAMPING,
  };
}

/** The Detection Time in ms (§6.8.4, asynchronous mode), from the last packet received. */
export function detectionTimeMs(s: BfdSession): number {
  return (s.remoteDetectMult * Math.max(s.rxInUseUs, s.remoteDesiredMinTxUs)) / 1000;
}

/** Whether periodic packets go out: not while the remote asks for none or runs Demand mode. */
export function transmitting(s: BfdSession): boolean {
  if (s.remoteMinRxUs === 0) return false;
  return !(s.remoteDemand && s.state === 'Up' && s.remoteState === 'Up');
}

/** The un-jittered periodic transmit interval, µs (§6.8.7). */
export function txIntervalUs(s: BfdSession): number {
  return Math.max(s.txInUseUs, s.remoteMinRxUs);
}

function unit(random: () => number): number {
  const r = random();
  return Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0.5;
}

/**
 * The jittered interval until the next periodic packet, ms: 75–100 % of the interval, or
 * 75–90 % when Detect Mult is 1, so that one late packet cannot expire the peer's timer (§6.8.7).
 */
export function jitteredTxMs(s: BfdSession, random: () => number): number {
  const max = s.timers.detectMult === 1 ? 0.9 : 1;
  return (txIntervalUs(s) * (0.75 + (max - 0.75) * unit(random))) / 1000;
}

/** The earliest time at which tick() has something to do, or null. */
export function nextDeadline(s: BfdSession): number | null {
  const tx = transmitting(s) ? s.nextTxAt : null;
  if (tx === null) return s.detectAt;
  if (s.detectAt === null) return tx;
  return Math.min(tx, s.detectAt);
}

/** The packet this session sends now; final marks the reply to a Poll. */
export function controlPacket(s: BfdSession, final = false): ControlPacket {
  return {
    diag: s.localDiag,
    state: s.state,
    poll: s.polling && !final,
    final,
    cpi: false,
    demand: false,
    detectMult: s.timers.detectMult,
    myDiscriminator: s.localDiscr,
    yourDiscriminator: s.remoteDiscr,
    desiredMinTxUs: s.desiredMinTxUs,
    requiredMinRxUs: s.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
}

/** The state with its local state changed, and the timers that go with Up or not Up. */
function enter(s: BfdSession, to: BfdState, diag: number): BfdSession {
  if (to === 'Up') {
    // Up: the configured interval replaces the one-second floor. A faster rate applies at once,
    // a slower one after the Poll Sequence (§6.8.3); either way the peer confirms with a Final.
    const tx = s.timers.desiredMinTxUs;
    const changed = tx !== s.desiredMinTxUs;
    return {
      ...s,
      state: to,
      localDiag: diag,
      desiredMinTxUs: tx,
      txInUseUs: Math.min(s.txInUseUs, tx),
      polling: s.polling || changed,
    };
  }
  const tx = Math.max(s.timers.desiredMinTxUs, SLOW_TX_US);
  return {
    ...s,
    state: to,
    localDiag: diag,
    desiredMinTxUs: tx,
    txInUseUs: tx,
    requiredMinRxUs: s.timers.requiredMinRxUs,
    rxInUseUs: s.timers.requiredMinRxUs,
    polling: false,
  };
}

/**
 * The state after a change of local state: a packet goes out at once so the peer learns of it
 * without waiting for the periodic timer, and the next periodic one follows an interval later.
 */
function changed(
  before: BfdSession,
  after: BfdSession,
  now: number,
  random: () => number,
  extra: ControlPacket[],
): BfdStep {
  if (after.state === before.state) return { session: after, send: extra, transition: null };
  const sendNow = transmitting(after);
  const session = sendNow ? { ...after, nextTxAt: now + jitteredTxMs(after, random) } : after;
  return {
    session,
    send: sendNow
      ? [
          ...extra.filter((p) => !p.final),
          controlPacket(
            session,
            extra.some((p) => p.final),
          ),
        ]
      : extra,
    transition: { from: before.state, to: after.state, diag: after.localDiag },
  };
}

/** A packet matched to this session (§6.8.6 from "Set bfd.RemoteDiscr" on). */
export function receive(s: BfdSession, p: ControlPacket, now: number, random: () => number): BfdStep {
  let next: BfdSession = {
    ...s,
    remoteDiscr: p.myDiscriminator,
    remoteState: p.state,
    remoteDemand: p.demand,
    remoteMinRxUs: p.requiredMinRxUs,
    remoteDesiredMinTxUs: p.desiredMinTxUs,
    remoteDetectMult: p.detectMult,
  };
  if (p.final && next.polling)
    next = { ...next, polling: false, txInUseUs: next.desiredMinTxUs, rxInUseUs: next.requiredMinRxUs };
  next = { ...next, detectAt: now + detectionTimeMs(next) };
  // A faster rate asked by the peer applies to the next packet, not after the old interval.
  if (transmitting(next)) {
    const soonest = now + txIntervalUs(next) / 1000;
    if (next.nextTxAt === null || next.nextTxAt > soonest)
      next = { ...next, nextTxAt: now + jitteredTxMs(next, random) };
  }
  const reply: ControlPacket[] = [];
  if (s.state === 'AdminDown') return { session: next, send: reply, transition: null };
  let to: BfdState = next.state;
  let diag = next.localDiag;
  if (p.state === 'AdminDown') {
    if (next.state !== 'Down') {
      to = 'Down';
      diag = BFD_DIAGS.neighborSignaledSessionDown;
    }
  } else if (next.state === 'Down') {
    // A session held by its damping stays Down and keeps telling the peer so.
    if (held(next.damping, now)) to = 'Down';
    else if (p.state === 'Down') to = 'Init';
    else if (p.state === 'Init') to = 'Up';
  } else if (next.state === 'Init') {
    if (p.state === 'Init' || p.state === 'Up') to = 'Up';
  } else if (p.state === 'Down') {
    to = 'Down';
    diag = BFD_DIAGS.neighborSignaledSessionDown;
  }
  if (to === 'Up') diag = BFD_DIAGS.none;
  if (to !== next.state) {
    // Up → Down on the peer's Down is a failure of the path; on its AdminDown it is not.
    const damping =
      to === 'Up'
        ? dampingUp(next.damping, now)
        : next.state === 'Up' && p.state === 'AdminDown'
          ? dampingDown(next.damping)
          : next.state === 'Up'
            ? dampingFailure(next.damping, now)
            : next.damping;
    next = { ...next, damping };
  }
  const after = to === next.state ? next : enter(next, to, diag);
  // A Poll gets a Final at once, whatever the periodic timer says (§6.8.6, last rule).
  if (p.poll) reply.push(controlPacket(after, true));
  return changed(next, after, now, random, reply);
}

/** Periodic transmission and Detection Time expiry due at `now`. */
export function tick(s: BfdSession, now: number, random: () => number): BfdStep {
  let next = s;
  let transition: Transition | null = null;
  if (next.detectAt !== null && next.detectAt <= now) {
    // No packet for a Detection Time: the remote is gone and its discriminator forgotten (§6.8.1).
    next = { ...next, detectAt: null, remoteDiscr: 0, remoteState: 'Down', remoteDemand: false };
    if (next.state === 'Init' || next.state === 'Up') {
      const damping = next.state === 'Up' ? dampingFailure(next.damping, now) : next.damping;
      const after = enter({ ...next, damping }, 'Down', BFD_DIAGS.controlDetectionTimeExpired);
      transition = { from: next.state, to: 'Down', diag: after.localDiag };
      next = { ...after, nextTxAt: now };
    }
  }
  const send: ControlPacket[] = [];
  if (transmitting(next) && next.nextTxAt !== null && next.nextTxAt <= now) {
    send.push(controlPacket(next));
    next = { ...next, nextTxAt: now + jitteredTxMs(next, random) };
  }
  return { session: next, send, transition };
}

/** New timers (§6.8.3): while Up they start a Poll Sequence and change safely when it ends. */
export function setTimers(s: BfdSession, timers: BfdTimers, now: number): BfdStep {
  const problem = timersProblem(timers);
  if (problem !== undefined) throw new RangeError(`BFD ${problem}`);
  if (s.state !== 'Up') {
    const tx = Math.max(timers.desiredMinTxUs, SLOW_TX_US);
    const session = {
      ...s,
      timers,
      desiredMinTxUs: tx,
      txInUseUs: tx,
      requiredMinRxUs: timers.requiredMinRxUs,
      rxInUseUs: timers.requiredMinRxUs,
    };
    return { session, send: [], transition: null };
  }
  const tx = timers.desiredMinTxUs;
  const rx = timers.requiredMinRxUs;
  const poll = tx !== s.desiredMinTxUs || rx !== s.requiredMinRxUs;
  const session: BfdSession = {
    ...s,
    timers,
    desiredMinTxUs: tx,
    requiredMinRxUs: rx,
    // A faster transmit rate and a longer Detection Time are safe at once; the others wait.
    txInUseUs: Math.min(s.txInUseUs, tx),
    rxInUseUs: Math.max(s.rxInUseUs, rx),
    polling: s.polling || poll,
  };
  if (!poll || !transmitting(session)) return { session, send: [], transition: null };
  return { session: { ...session, nextTxAt: now }, send: [], transition: null };
}

/** Administratively down (§6.8.16): the peer sees AdminDown and does not take it as a failure. */
export function adminDown(s: BfdSession, now: number, random: () => number): BfdStep {
  if (s.state === 'AdminDown') return { session: s, send: [], transition: null };
  const damping = s.state === 'Up' ? dampingDown(s.damping) : s.damping;
  return changed(s, enter({ ...s, damping }, 'AdminDown', BFD_DIAGS.administrativelyDown), now, random, []);
}

/** Back from AdminDown to Down, to come Up again with the peer. */
export function adminUp(s: BfdSession, now: number, random: () => number): BfdStep {
  if (s.state !== 'AdminDown') return { session: s, send: [], transition: null };
  return changed(s, enter(s, 'Down', BFD_DIAGS.none), now, random, []);
}
