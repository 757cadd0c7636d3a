// FSM configuration defaults and validation. The defaults are the ones Calico/BIRD users
// expect rather than RFC 4271 §10's suggestions: a 120 s ConnectRetryTimer makes a node
// that rebooted wait two minutes for its mesh, so we start at 5 s and back off to 120 s.
// Invalid values throw here, once, so `step` never has to. The hold time and keepalive time follow
// the timer rule every configuration schema shares (hold-time.ts).
import { BgpError } from '../errors.ts';
import { defaultKeepaliveTime, holdTimeProblem, keepaliveTimeProblem } from './hold-time.ts';
import type { FsmConfig, FsmState } from './types.ts';

export const FSM_DEFAULTS = {
  holdTime: 90,
  openSentHoldTime: 240,
  connectRetryTime: 5,
  connectRetryMaxTime: 120,
  connectRetryJitter: 0.25,
  passive: false,
  delayOpen: false,
  delayOpenTime: 5,
  dampPeerOscillations: true,
  idleHoldTime: 1,
  idleHoldMaxTime: 120,
  idleHoldStableTime: 60,
  allowAutomaticStart: true,
  sendNotificationWithoutOpen: false,
} as const;

export type FsmConfigInput = Partial<FsmConfig>;

function invalid(field: string, value: unknown, rule: string): never {
  throw new BgpError('BGP_ERR_INVALID_CONFIG', `fsm.${field} = ${String(value)}: ${rule}`);
}

function seconds(field: string, value: number, min: number, max = 65535): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    invalid(field, value, `must be a number of seconds in [${min}, ${max}]`);
  }
  return value;
}

/** Fills defaults and checks every field; throws BgpError BGP_ERR_INVALID_CONFIG naming the field. */
export function resolveFsmConfig(input: FsmConfigInput = {}): FsmConfig {
  const holdTime = input.holdTime ?? FSM_DEFAULTS.holdTime;
  const holdProblem = holdTimeProblem(holdTime);
  if (holdProblem !== undefined) invalid('holdTime', holdTime, holdProblem);
  const keepaliveTime = input.keepaliveTime ?? defaultKeepaliveTime(holdTime);
  const keepaliveProblem = keepaliveTimeProblem(keepaliveTime, holdTime);
  if (keepaliveProblem !== undefined)
    throw new BgpError('BGP_ERR_INVALID_CONFIG', `fsm.keepaliveTime: ${keepaliveProblem}`);
  const connectRetryTime = seconds(
    'connectRetryTime',
    input.connectRetryTime ?? FSM_DEFAULTS.connectRetryTime,
    1,
  );
  const connectRetryMaxTime = seconds(
    'connectRetryMaxTime',
    input.connectRetryMaxTime ?? Math.max(FSM_DEFAULTS.connectRetryMaxTime, connectRetryTime),
    connectRetryTime,
  );
  const connectRetryJitter = input.connectRetryJitter ?? FSM_DEFAULTS.connectRetryJitter;
  if (!Number.isFinite(connectRetryJitter) || connectRetryJitter < 0 || connectRetryJitter >= 1) {
    invalid('connectRetryJitter', connectRetryJitter, 'must be a fraction in [0, 1)');
  }
  const idleHoldTime = seconds('idleHoldTime', input.idleHoldTime ?? FSM_DEFAULTS.idleHoldTime, 0);
  const idleHoldMaxTime = seconds(
    'idleHoldMaxTime',
    input.idleHoldMaxTime ?? Math.max(FSM_DEFAULTS.idleHoldMaxTime, idleHoldTime),
    idleHoldTime,
  );
  return {
    holdTime,
    keepaliveTime,
    openSentHoldTime: seconds('openSentHoldTime', input.openSentHoldTime ?? FSM_DEFAULTS.openSentHoldTime, 3),
    connectRetryTime,
    connectRetryMaxTime,
    connectRetryJitter,
    passive: input.passive ?? FSM_DEFAULTS.passive,
    delayOpen: input.delayOpen ?? FSM_DEFAULTS.delayOpen,
    delayOpenTime: seconds('delayOpenTime', input.delayOpenTime ?? FSM_DEFAULTS.delayOpenTime, 1),
    dampPeerOscillations: input.dampPeerOscillations ?? FSM_DEFAULTS.dampPeerOscillations,
    idleHoldTime,
    idleHoldMaxTime,
    idleHoldStableTime: seconds(
      'idleHoldStableTime',
      input.idleHoldStableTime ?? FSM_DEFAULTS.idleHoldStableTime,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    allowAutomaticStart: input.allowAutomaticStart ?? FSM_DEFAULTS.allowAutomaticStart,
    sendNotificationWithoutOpen:
      input.sendNotificationWithoutOpen ?? FSM_DEFAULTS.sendNotificationWithoutOpen,
  };
}

/** A peer that was configured but not started: Idle, stopped, no timers (RFC 4271 §8.2.2 Idle). */
export function initialFsmState(config: FsmConfig, now: number): FsmState {
  return {
    name: 'Idle',
    lastStateChange: now,
    connectRetryCounter: 0,
    connectRetryAttempt: 0,
    holdTime: config.holdTime,
    keepaliveTime: config.keepaliveTime,
    negotiatedHoldTime: null,
    negotiatedKeepaliveTime: null,
    timers: { connectRetry: null, hold: null, keepalive: null, delayOpen: null, idleHold: null },
    passiveTcpEstablishment: config.passive,
    delayOpen: config.delayOpen,
    idleHoldTime: config.idleHoldTime,
    establishedAt: null,
    isStopped: true,
    lastDownReason: null,
  };
}
