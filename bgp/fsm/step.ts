// The RFC 4271 §8.2.2 state machine as one pure function:
//   step(config, state, event, env) → { state, actions, reason?, signal? }
// No clock, no timers, no sockets, no randomness of its own: `env` brings `now` and `random`,
// actions are data the session executes in order, so every transition can be tested and replayed
// without a socket (GoBGP `fsm.go`, BIRD `nest/protocol.h`). Timer actions are derived by diffing
// the timers of the old and new state, so they can never disagree with the state the session arms
// its one host timer from.
//
// Where we differ from the letter of §8.2.2, on purpose:
// - A `*Timer_Expires` event for a timer that is not running is ignored: it is a stale host
//   timer callback, not a protocol event, and must not tear a session down.
// - Passive peers (PassiveTcpEstablishment) never start the ConnectRetryTimer: §8.2.2 Active
//   would make them initiate a connection when it expires, which is what passive forbids.
// - Every transition to Idle clears all timers (§8.2.2 Active/TcpConnectionFails "restarts the
//   ConnectRetryTimer" and then goes Idle, where the timer means nothing) and, unless it was a
//   ManualStop, arms the IdleHoldTimer for the automatic restart (DampPeerOscillations, §8.1.1).
// - Every unplanned transition to Idle increments ConnectRetryCounter and damps, including
//   Connect/TcpConnectionFails: otherwise a peer that refuses connections is retried at the
//   initial idle hold time forever. NotifMsgVerErr before Established does not damp (version
//   negotiation retries at once, as §8.2.2 intends).
// - NotifMsg in OpenSent closes without answering with an FSM Error NOTIFICATION (§8.2.2 lists
//   it under "any other event"; §6 says the connection is closed after a NOTIFICATION — BIRD
//   and GoBGP do the same).
// - BGPHeaderErr in Established sends Message Header Error as §6.1 requires, not the FSM
//   Error the Established "any other event" row would send.
import { CeaseSubcode, FsmSubcode, NotifyCode, OpenSubcode } from '../wire/types.ts';
import { isAcceptableHoldTime, negotiateHoldTime, negotiateKeepaliveTime } from './hold-time.ts';
import {
  adminShutdownReason,
  automaticStopReason,
  connectionReason,
  messageErrorReason,
  notificationReceivedReason,
  notificationSentReason,
  silentCloseReason,
  unexpectedEventReason,
} from './reason.ts';
import { connectRetryDelayMs, keepaliveDelayMs, timerOfEvent } from './timers.ts';
import type {
  DownReason,
  FsmAction,
  FsmConfig,
  FsmEnv,
  FsmEvent,
  FsmState,
  FsmStateName,
  FsmTimers,
  PeerSignal,
  StepResult,
} from './types.ts';
import { TIMER_NAMES } from './types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The step being built: a private copy of the state plus what happened so far. */
interface Draft {
  readonly config: FsmConfig;
  readonly env: FsmEnv;
  readonly s: Mutable<FsmState>;
  readonly t: Mutable<FsmTimers>;
  readonly actions: FsmAction[];
  outcome: { readonly type: 'established' } | { readonly type: 'down'; readonly reason: DownReason } | null;
  signal: PeerSignal | null;
}

type MessageErrorEvent = Extract<FsmEvent, { type: 'BGPHeaderErr' | 'BGPOpenMsgErr' | 'UpdateMsgErr' }>;

export function step(config: FsmConfig, state: FsmState, event: FsmEvent, env: FsmEnv): StepResult {
  const timer = timerOfEvent(event.type);
  if (timer !== null && state.timers[timer] === null) return { state, actions: [] };
  // In Established a received message only restarts the HoldTimer (Events 26/27, `established`).
  // The UPDATEs of a table dump arrive many to the millisecond, and a restart within the same
  // millisecond sets the deadline already set: nothing changes, and no draft is built for it.
  if (
    state.name === 'Established' &&
    (event.type === 'UpdateMsg' || event.type === 'KeepAliveMsg' || event.type === 'RouteRefreshMsg') &&
    state.timers.hold === holdDeadline(state, env.now)
  ) {
    return { state, actions: [] };
  }
  const d: Draft = {
    config,
    env,
    s: { ...state },
    t: { ...state.timers },
    actions: [],
    outcome: null,
    signal: null,
  };
  switch (state.name) {
    case 'Idle':
      idle(d, event);
      break;
    case 'Connect':
    case 'Active':
      connectOrActive(d, event);
      break;
    case 'OpenSent':
      openSent(d, event);
      break;
    case 'OpenConfirm':
      openConfirm(d, event);
      break;
    case 'Established':
      established(d, event);
      break;
  }
  return finish(state, d);
}

function finish(prev: FsmState, d: Draft): StepResult {
  const actions = d.actions;
  for (const timer of TIMER_NAMES) {
    const at = d.t[timer];
    if (at === prev.timers[timer]) continue;
    actions.push(at === null ? { type: 'clearTimer', timer } : { type: 'setTimer', timer, at });
  }
  if (d.outcome) actions.push(d.outcome);
  // An ignored event returns the very same state object: `result.state === state` is a
  // cheap "nothing happened" for the session and the tests.
  if (actions.length === 0 && d.signal === null && isUnchanged(prev, d)) return { state: prev, actions };
  d.s.timers = d.t;
  if (d.s.name !== prev.name) d.s.lastStateChange = d.env.now;
  const result: Mutable<StepResult> = { state: d.s, actions };
  if (d.outcome?.type === 'down') result.reason = d.outcome.reason;
  if (d.signal) result.signal = d.signal;
  return result;
}

function isUnchanged(prev: FsmState, d: Draft): boolean {
  for (const key of Object.keys(prev) as (keyof FsmState)[]) {
    if (key !== 'timers' && prev[key] !== d.s[key]) return false;
  }
  return TIMER_NAMES.every((t) => prev.timers[t] === d.t[t]);
}

// ---- building blocks ------------------------------------------------------------------

const sec = (d: Draft, seconds: number): number => d.env.now + Math.round(seconds * 1000);

/** Start (or restart) the ConnectRetryTimer with backoff and jitter; never for passive peers. */
function startConnectRetry(d: Draft): void {
  if (d.s.passiveTcpEstablishment) {
    d.t.connectRetry = null;
    return;
  }
  d.t.connectRetry = d.env.now + connectRetryDelayMs(d.config, d.s.connectRetryAttempt, d.env.random);
  d.s.connectRetryAttempt += 1;
}

function restartKeepalive(d: Draft): void {
  const k = d.s.negotiatedKeepaliveTime ?? 0;
  d.t.keepalive = k > 0 ? d.env.now + keepaliveDelayMs(k, d.env.random) : null;
}

/**
 * The HoldTimer deadline of a restart at `now`, or null when the negotiated hold time is zero.
 * In whole milliseconds (rounded up, never early), so that restarts within one millisecond
 * agree (`step`'s fast path).
 */
function holdDeadline(s: FsmState, now: number): number | null {
  const h = s.negotiatedHoldTime ?? 0;
  return h > 0 ? Math.ceil(now) + Math.round(h * 1000) : null;
}

/** RFC 4271 §4.2: restart the HoldTimer, unless the negotiated hold time is zero. */
function restartHold(d: Draft): void {
  d.t.hold = holdDeadline(d.s, d.env.now);
}

function go(d: Draft, name: FsmStateName): void {
  d.s.name = name;
}

function notify(
  d: Draft,
  code: number,
  subcode: number,
  data?: Uint8Array,
  shutdownMessage?: string,
  hardReset = false,
): void {
  const a: Mutable<Extract<FsmAction, { type: 'sendNotification' }>> = {
    type: 'sendNotification',
    code,
    subcode,
  };
  if (data !== undefined && data.length > 0) a.data = data;
  if (shutdownMessage !== undefined) a.shutdownMessage = shutdownMessage;
  if (hardReset) a.hardReset = true;
  d.actions.push(a);
}

/** Leave Idle: RFC 4271 §8.2.2 Idle, ManualStart/AutomaticStart (Events 1, 3-7, 13). */
function start(d: Draft): void {
  const c = d.config;
  d.s.connectRetryCounter = 0;
  d.s.holdTime = c.holdTime;
  d.s.keepaliveTime = c.keepaliveTime;
  d.s.passiveTcpEstablishment = c.passive;
  d.s.delayOpen = c.delayOpen;
  d.s.negotiatedHoldTime = null;
  d.s.negotiatedKeepaliveTime = null;
  d.t.idleHold = null;
  d.signal = 'start';
  if (c.passive) {
    go(d, 'Active'); // Event 4/5: listen only
  } else {
    d.actions.push({ type: 'connect' });
    startConnectRetry(d);
    go(d, 'Connect');
  }
}

interface IdleOptions {
  /** ManualStop: ConnectRetryCounter to zero, no automatic restart. */
  readonly isAdmin?: boolean;
  /** Grow the idle hold time (DampPeerOscillations); false only for NotifMsgVerErr. */
  readonly damp?: boolean;
}

/**
 * Go to Idle: drop the connection, stop every timer, release resources ("down"), and unless
 * stopped by the operator schedule the automatic restart after the idle hold time (RFC 4271
 * §8.1.1 DampPeerOscillations; BIRD `error wait time`, reset after `error forget time`).
 */
function toIdle(d: Draft, reason: DownReason, opts: IdleOptions = {}): void {
  const c = d.config;
  const now = d.env.now;
  d.actions.push({ type: 'closeConnection' });
  d.t.connectRetry = null;
  d.t.hold = null;
  d.t.keepalive = null;
  d.t.delayOpen = null;
  d.s.negotiatedHoldTime = null;
  d.s.negotiatedKeepaliveTime = null;
  if (opts.isAdmin) {
    d.s.connectRetryCounter = 0;
    d.s.isStopped = true;
    d.t.idleHold = null;
    d.signal = 'stop';
  } else {
    d.s.connectRetryCounter += opts.damp === false ? 0 : 1;
    const wasStable = d.s.establishedAt !== null && now - d.s.establishedAt >= c.idleHoldStableTime * 1000;
    if (wasStable) d.s.idleHoldTime = c.idleHoldTime;
    d.t.idleHold = c.allowAutomaticStart ? sec(d, d.s.idleHoldTime) : null;
    if (c.dampPeerOscillations && opts.damp !== false) {
      d.s.idleHoldTime = Math.min(c.idleHoldMaxTime, Math.max(d.s.idleHoldTime * 2, c.idleHoldTime));
    }
    d.signal = 'down';
  }
  d.s.establishedAt = null;
  d.s.lastDownReason = reason;
  d.outcome = { type: 'down', reason };
  go(d, 'Idle');
}

/** Send a NOTIFICATION, then go Idle with the matching reason. */
function notifyAndIdle(d: Draft, code: number, subcode: number, data?: Uint8Array): void {
  notify(d, code, subcode, data);
  toIdle(d, notificationSentReason(code, subcode));
}

/** RFC 6608 §3: an unexpected message gets FSM Error with the subcode naming the state. */
function fsmError(d: Draft, subcode: number): void {
  notifyAndIdle(d, NotifyCode.fsm, subcode);
}

function manualStop(d: Draft, event: Extract<FsmEvent, { type: 'ManualStop' }>, canNotify: boolean): void {
  const subcode = event.subcode ?? CeaseSubcode.administrativeShutdown;
  // RFC 8538 §3.1: a Hard Reset carries the Cease it stands for.
  const hardReset = event.hardReset === true;
  if (event.silent === true) {
    toIdle(d, silentCloseReason(event.shutdownMessage), { isAdmin: true });
    return;
  }
  if (canNotify) notify(d, NotifyCode.cease, subcode, event.data, event.shutdownMessage, hardReset);
  toIdle(d, adminShutdownReason(subcode, canNotify, event.shutdownMessage, hardReset), { isAdmin: true });
}

function automaticStop(d: Draft, event: Extract<FsmEvent, { type: 'AutomaticStop' }>): void {
  const hardReset = event.hardReset === true;
  notify(d, NotifyCode.cease, event.subcode, undefined, undefined, hardReset);
  toIdle(d, automaticStopReason(event.subcode, true, event.message, hardReset));
}

/**
 * The peer's OPEN was valid: send KEEPALIVE, arm Keepalive and Hold with the negotiated hold
 * time, go OpenConfirm (RFC 4271 §8.2.2 OpenSent Event 19; Connect/Active Event 20).
 * An unacceptable hold time is an OPEN Message Error (RFC 4271 §6.2), returned as false.
 */
function acceptOpen(d: Draft, peerHoldTime: number): boolean {
  if (!isAcceptableHoldTime(peerHoldTime)) return false;
  const h = negotiateHoldTime(d.s.holdTime, peerHoldTime);
  d.s.negotiatedHoldTime = h;
  d.s.negotiatedKeepaliveTime = negotiateKeepaliveTime(d.s.keepaliveTime, h);
  d.t.connectRetry = null;
  d.t.delayOpen = null;
  d.actions.push({ type: 'sendKeepalive' });
  restartKeepalive(d);
  restartHold(d);
  go(d, 'OpenConfirm');
  return true;
}

function unacceptableHoldTime(peerHoldTime: number): MessageErrorEvent {
  return {
    type: 'BGPOpenMsgErr',
    code: NotifyCode.openMessage,
    subcode: OpenSubcode.unacceptableHoldTime,
    message: `hold time ${peerHoldTime}`,
  };
}

/** TCP is up: send OPEN and wait for the peer's with the large HoldTimer (RFC 4271 §8.2.2). */
function sendOpen(d: Draft): void {
  d.t.connectRetry = null;
  d.t.delayOpen = null;
  d.actions.push({ type: 'sendOpen' });
  d.t.hold = sec(d, d.config.openSentHoldTime);
  go(d, 'OpenSent');
}

// ---- states ---------------------------------------------------------------------------

/** RFC 4271 §8.2.2 Idle: only starts do anything; "any other event" is ignored. */
function idle(d: Draft, event: FsmEvent): void {
  switch (event.type) {
    case 'ManualStart':
      d.s.isStopped = false;
      d.s.connectRetryAttempt = 0;
      d.s.idleHoldTime = d.config.idleHoldTime;
      start(d);
      return;
    case 'AutomaticStart':
      // RFC 4271 §8.1.1 AllowAutomaticStart; §8.2.2 Idle: while the IdleHoldTimer runs the
      // damped restart is pending and an automatic start must wait for it.
      if (d.config.allowAutomaticStart && !d.s.isStopped && d.t.idleHold === null) start(d);
      return;
    case 'IdleHoldTimer_Expires':
      start(d);
      return;
    case 'ManualStop':
      // Already Idle: nothing to close, but a pending automatic restart is cancelled.
      if (!d.s.isStopped) {
        d.s.isStopped = true;
        d.s.connectRetryCounter = 0;
        d.t.idleHold = null;
        d.signal = 'stop';
      }
      return;
    default:
      return;
  }
}

/**
 * RFC 4271 §8.2.2 Connect and Active. They differ only in ConnectRetryTimer_Expires and
 * TcpConnectionFails; the DelayOpenTimer running means our TCP connection is up but we have
 * not sent OPEN, so no NOTIFICATION goes out unless SendNOTIFICATIONwithoutOPEN.
 */
function connectOrActive(d: Draft, event: FsmEvent): void {
  const isConnect = d.s.name === 'Connect';
  const isDelaying = d.t.delayOpen !== null;
  const canNotify = isDelaying && d.config.sendNotificationWithoutOpen;
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Invalid':
    case 'UpdateMsgSent':
      return;
    case 'ManualStop':
      manualStop(d, event, canNotify);
      return;
    case 'ConnectRetryTimer_Expires':
      // Connect: drop the attempt and try again; Active: try now, go Connect.
      if (isConnect) d.actions.push({ type: 'closeConnection' });
      d.t.delayOpen = null;
      d.actions.push({ type: 'connect' });
      startConnectRetry(d);
      go(d, 'Connect');
      return;
    case 'DelayOpenTimer_Expires':
      sendOpen(d);
      return;
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      if (d.s.delayOpen) {
        // RFC 4271 §8.2.2: ConnectRetryTimer to zero, start the DelayOpenTimer, stay.
        d.t.connectRetry = null;
        d.t.delayOpen = sec(d, d.config.delayOpenTime);
      } else {
        sendOpen(d);
      }
      return;
    case 'TcpConnectionFails':
      if (isConnect && isDelaying) {
        // Connect with DelayOpenTimer running: keep listening in Active.
        d.t.delayOpen = null;
        startConnectRetry(d);
        go(d, 'Active');
        return;
      }
      toIdle(d, connectionReason(isDelaying, event.message));
      return;
    case 'BGPOpen':
      if (isDelaying) {
        // Event 20: the peer's OPEN arrived first; answer with OPEN + KEEPALIVE.
        if (!isAcceptableHoldTime(event.holdTime)) {
          messageError(d, unacceptableHoldTime(event.holdTime), canNotify);
          return;
        }
        d.actions.push({ type: 'sendOpen' });
        acceptOpen(d, event.holdTime);
        return;
      }
      toIdle(d, unexpectedEventReason('OPEN', d.s.name));
      return;
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      messageError(d, event, canNotify);
      return;
    case 'NotifMsgVerErr':
      toIdle(d, notificationReceivedReason(NotifyCode.openMessage, OpenSubcode.unsupportedVersionNumber), {
        damp: !isDelaying,
      });
      return;
    case 'NotifMsg':
      toIdle(
        d,
        notificationReceivedReason(event.code, event.subcode, event.shutdownMessage, event.encapsulated),
      );
      return;
    case 'AutomaticStop':
      toIdle(d, automaticStopReason(event.subcode, false, event.message));
      return;
    default:
      // RFC 4271 §8.2.2 "any other event" (8, 10-11, 13, 19, 23, 25-28): close, Idle.
      toIdle(d, unexpectedEventReason(event.type, d.s.name));
      return;
  }
}

/** A message error: NOTIFICATION with its code (when we may send one), then Idle. */
function messageError(d: Draft, event: MessageErrorEvent, canNotify: boolean): void {
  if (canNotify) {
    notifyAndIdle(d, event.code, event.subcode, event.data);
  } else {
    toIdle(d, messageErrorReason(event.code, event.subcode));
  }
}

/** RFC 4271 §8.2.2 OpenSent: our OPEN is out, the HoldTimer has its large value. */
function openSent(d: Draft, event: FsmEvent): void {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    // A second connection is tracked by the session for collision detection (RFC 4271 §6.8).
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
    case 'UpdateMsgSent':
      return;
    case 'ManualStop':
      manualStop(d, event, true);
      return;
    case 'AutomaticStop':
      automaticStop(d, event);
      return;
    case 'HoldTimer_Expires':
      notifyAndIdle(d, NotifyCode.holdTimerExpired, 0);
      return;
    case 'TcpConnectionFails':
      // RFC 4271 §8.2.2: close, restart the ConnectRetryTimer, listen in Active.
      d.actions.push({ type: 'closeConnection' });
      d.t.hold = null;
      startConnectRetry(d);
      go(d, 'Active');
      return;
    case 'BGPOpen':
      if (!acceptOpen(d, event.holdTime)) messageError(d, unacceptableHoldTime(event.holdTime), true);
      return;
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      messageError(d, event, true);
      return;
    case 'OpenCollisionDump':
      notifyAndIdle(d, NotifyCode.cease, CeaseSubcode.connectionCollisionResolution);
      return;
    case 'NotifMsgVerErr':
      toIdle(d, notificationReceivedReason(NotifyCode.openMessage, OpenSubcode.unsupportedVersionNumber), {
        damp: false,
      });
      return;
    case 'NotifMsg':
      toIdle(
        d,
        notificationReceivedReason(event.code, event.subcode, event.shutdownMessage, event.encapsulated),
      );
      return;
    default:
      // KEEPALIVE, UPDATE, ROUTE-REFRESH before the peer's OPEN: RFC 6608 subcode 1.
      fsmError(d, FsmSubcode.unexpectedInOpenSent);
      return;
  }
}

/** RFC 4271 §8.2.2 OpenConfirm: OPENs exchanged, waiting for the peer's KEEPALIVE. */
function openConfirm(d: Draft, event: FsmEvent): void {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
    case 'UpdateMsgSent':
      return;
    case 'ManualStop':
      manualStop(d, event, true);
      return;
    case 'AutomaticStop':
      automaticStop(d, event);
      return;
    case 'HoldTimer_Expires':
      notifyAndIdle(d, NotifyCode.holdTimerExpired, 0);
      return;
    case 'KeepaliveTimer_Expires':
      d.actions.push({ type: 'sendKeepalive' });
      restartKeepalive(d);
      return;
    case 'TcpConnectionFails':
      toIdle(d, connectionReason(true, event.message));
      return;
    case 'NotifMsg':
      toIdle(
        d,
        notificationReceivedReason(event.code, event.subcode, event.shutdownMessage, event.encapsulated),
      );
      return;
    case 'NotifMsgVerErr':
      toIdle(d, notificationReceivedReason(NotifyCode.openMessage, OpenSubcode.unsupportedVersionNumber), {
        damp: false,
      });
      return;
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      messageError(d, event, true);
      return;
    case 'OpenCollisionDump':
      notifyAndIdle(d, NotifyCode.cease, CeaseSubcode.connectionCollisionResolution);
      return;
    case 'KeepAliveMsg':
      // RFC 4271 §8.2.2: restart the HoldTimer, Established.
      restartHold(d);
      d.s.establishedAt = d.env.now;
      d.s.connectRetryAttempt = 0;
      d.outcome = { type: 'established' };
      d.signal = 'up';
      go(d, 'Established');
      return;
    default:
      // A second OPEN on this connection (collision was the session's call, RFC 4271 §6.8),
      // UPDATE or ROUTE-REFRESH before the KEEPALIVE: RFC 6608 subcode 2.
      fsmError(d, FsmSubcode.unexpectedInOpenConfirm);
      return;
  }
}

/** RFC 4271 §8.2.2 Established. */
function established(d: Draft, event: FsmEvent): void {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      return;
    case 'ManualStop':
      manualStop(d, event, true);
      return;
    case 'AutomaticStop':
      automaticStop(d, event);
      return;
    case 'HoldTimer_Expires':
      notifyAndIdle(d, NotifyCode.holdTimerExpired, 0);
      return;
    case 'KeepaliveTimer_Expires':
      d.actions.push({ type: 'sendKeepalive' });
      restartKeepalive(d);
      return;
    case 'UpdateMsgSent':
      // RFC 4271 §8.2.2: "Each time the local system sends a KEEPALIVE or UPDATE message, it
      // restarts its KeepaliveTimer, unless the negotiated HoldTime value is zero."
      restartKeepalive(d);
      return;
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'RouteRefreshMsg':
      // RFC 4271 §8.2.2 Events 26/27: restart the HoldTimer if the hold time is non-zero.
      restartHold(d);
      return;
    case 'TcpConnectionFails':
      toIdle(d, connectionReason(true, event.message));
      return;
    case 'NotifMsg':
      toIdle(
        d,
        notificationReceivedReason(event.code, event.subcode, event.shutdownMessage, event.encapsulated),
      );
      return;
    case 'NotifMsgVerErr':
      toIdle(d, notificationReceivedReason(NotifyCode.openMessage, OpenSubcode.unsupportedVersionNumber));
      return;
    case 'UpdateMsgErr':
      notifyAndIdle(d, event.code, event.subcode, event.data);
      return;
    case 'BGPHeaderErr':
      // RFC 4271 §6.1: header errors are always reported as Message Header Error.
      notifyAndIdle(d, NotifyCode.messageHeader, event.subcode, event.data);
      return;
    case 'OpenCollisionDump':
      // Only when the session runs collision detection against Established (RFC 4271 §6.8
      // CollisionDetectEstablishedState); `resolveCollision` keeps Established by default.
      notifyAndIdle(d, NotifyCode.cease, CeaseSubcode.connectionCollisionResolution);
      return;
    default:
      // OPEN in Established (valid or not): RFC 6608 subcode 3.
      fsmError(d, FsmSubcode.unexpectedInEstablished);
      return;
  }
}
