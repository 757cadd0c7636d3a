// Shared helpers for the FSM tests: a fake clock, canonical paths to each state, and a
// compact rendering of actions ("notify 6/2", "set hold") so table rows stay readable.
import {
  type FsmAction,
  type FsmConfig,
  type FsmConfigInput,
  type FsmEnv,
  type FsmEvent,
  type FsmState,
  type FsmStateName,
  initialFsmState,
  resolveFsmConfig,
  type StepResult,
  step,
} from '../../../../bgp/fsm/index.ts';

export function config(input: FsmConfigInput = {}): FsmConfig {
  return resolveFsmConfig(input);
}

/** An env at `now`; random 0.5 makes ConnectRetryTimer exactly its base value. */
export function env(now: number, random: () => number = () => 0.5): FsmEnv {
  return { now, random };
}

/** Replays [time, event] pairs from a fresh FSM; returns every result. */
export function run(cfg: FsmConfig, events: readonly (readonly [number, FsmEvent])[], from?: FsmState) {
  let state = from ?? initialFsmState(cfg, 0);
  const results: StepResult[] = [];
  for (const [now, event] of events) {
    const r = step(cfg, state, event, env(now));
    results.push(r);
    state = r.state;
  }
  return { state, results, last: results[results.length - 1] };
}

/** The canonical way into each state (one second per event), for a non-passive peer. */
export const PATH: Record<FsmStateName, readonly FsmEvent[]> = {
  Idle: [{ type: 'ManualStart' }, { type: 'TcpConnectionFails' }],
  Connect: [{ type: 'ManualStart' }],
  Active: [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }, { type: 'TcpConnectionFails' }],
  OpenSent: [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }],
  OpenConfirm: [{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }, { type: 'BGPOpen', holdTime: 60 }],
  Established: [
    { type: 'ManualStart' },
    { type: 'Tcp_CR_Acked' },
    { type: 'BGPOpen', holdTime: 60 },
    { type: 'KeepAliveMsg' },
  ],
};

/** Drive a fresh FSM into `name`; event i happens at i seconds. */
export function reach(cfg: FsmConfig, name: FsmStateName): FsmState {
  const { state } = run(
    cfg,
    PATH[name].map((e, i) => [i * 1000, e] as const),
  );
  if (state.name !== name) throw new Error(`fixture reached ${state.name}, not ${name}`);
  return state;
}

/** "connect", "close", "open", "keepalive", "notify 6/2", "set hold", "clear keepalive", "established", "down holdTimerExpired". */
export function fmt(a: FsmAction): string {
  switch (a.type) {
    case 'connect':
      return 'connect';
    case 'closeConnection':
      return 'close';
    case 'sendOpen':
      return 'open';
    case 'sendKeepalive':
      return 'keepalive';
    case 'sendNotification':
      return `notify ${a.code}/${a.subcode}`;
    case 'setTimer':
      return `set ${a.timer}`;
    case 'clearTimer':
      return `clear ${a.timer}`;
    case 'established':
      return 'established';
    case 'down':
      return `down ${a.reason.kind}`;
  }
}

export const fmtAll = (actions: readonly FsmAction[]): string[] => actions.map(fmt);
