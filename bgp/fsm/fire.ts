// Drive the FSM's timers from one host timer: when it fires, feed every expired timer's
// event in deadline order, asking again after each step because a step may stop the others
// (HoldTimer_Expires ends the session, so a keepalive due at the same instant is not sent).
import { step } from './step.ts';
import { expiredTimers } from './timers.ts';
import type { FsmConfig, FsmEnv, FsmState, StepResult } from './types.ts';
import { TIMER_NAMES } from './types.ts';

export interface FiredTimers {
  readonly state: FsmState;
  /** One StepResult per expiry event fed, in order (empty when nothing was due). */
  readonly results: readonly StepResult[];
}

export function fireDueTimers(config: FsmConfig, state: FsmState, env: FsmEnv): FiredTimers {
  const results: StepResult[] = [];
  let current = state;
  // Each expiry stops its timer or moves it strictly past `now` (every duration the config
  // allows is > 0, except an idle hold of 0, which stops the IdleHoldTimer); the bound only
  // guards against a hand-built state.
  for (let i = 0; i < TIMER_NAMES.length * 2; i++) {
    const event = expiredTimers(current, env.now)[0];
    if (event === undefined) break;
    const result = step(config, current, event, env);
    results.push(result);
    current = result.state;
  }
  return { state: current, results };
}
