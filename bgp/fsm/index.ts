// bgp/fsm: the RFC 4271 §8 finite state machine as a pure step function, plus the pure
// decisions around it (hold time negotiation, collision detection, timer scheduling).
export type {
  CollisionConnection,
  CollisionDecision,
  CollisionInput,
  CollisionRule,
  ConnectionDirection,
} from './collision.ts';
export { bgpIdToNumber, resolveCollision } from './collision.ts';
export type { FsmConfigInput } from './config.ts';
export { FSM_DEFAULTS, initialFsmState, resolveFsmConfig } from './config.ts';
export { eventFromWireError } from './events.ts';
export type { FiredTimers } from './fire.ts';
export { fireDueTimers } from './fire.ts';
export {
  defaultKeepaliveTime,
  HOLD_TIME_MAX,
  HOLD_TIME_MIN,
  HOLD_TIME_RULE,
  holdTimeProblem,
  isAcceptableHoldTime,
  KEEPALIVE_TIME_MAX,
  keepaliveTimeProblem,
  maxKeepaliveTime,
  negotiateHoldTime,
  negotiateKeepaliveTime,
  timersProblem,
} from './hold-time.ts';
export {
  adminShutdownReason,
  automaticStopReason,
  connectionReason,
  describeNotification,
  notificationReceivedReason,
  notificationSentReason,
} from './reason.ts';
export { step } from './step.ts';
export type { Deadline, TimerEventType } from './timers.ts';
export {
  connectRetryDelayMs,
  expiredTimers,
  keepaliveDelayMs,
  nextDeadline,
  TIMER_EVENTS,
  timerOfEvent,
} from './timers.ts';
export type {
  DownReason,
  DownReasonKind,
  FsmAction,
  FsmConfig,
  FsmEnv,
  FsmEvent,
  FsmEventType,
  FsmState,
  FsmStateName,
  FsmTimers,
  PeerSignal,
  StepResult,
  TimerName,
} from './types.ts';
export { FSM_STATES, TIMER_NAMES } from './types.ts';
