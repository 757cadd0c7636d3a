// RFC 4271 §8.2.2, one row per (state, event): the next state and the actions in order,
// timer actions included (they are derived from the state, so they check the timers too).
// Every state lists every event type (`Record<FsmEventType, Row>`), so a new event cannot
// be added without deciding its row in each state.
import { describe, expect, it } from 'vitest';
import {
  type FsmEvent,
  type FsmEventType,
  type FsmState,
  type FsmStateName,
  initialFsmState,
  step,
} from '../../../../bgp/fsm/index.ts';
import { config, env, fmtAll, reach } from './fixtures.ts';

const EVENTS: { readonly [T in FsmEventType]: Extract<FsmEvent, { type: T }> } = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop', shutdownMessage: 'maintenance' },
  AutomaticStart: { type: 'AutomaticStart' },
  AutomaticStop: { type: 'AutomaticStop', subcode: 1, message: 'limit 100' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  DelayOpenTimer_Expires: { type: 'DelayOpenTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  TcpConnection_Valid: { type: 'TcpConnection_Valid' },
  Tcp_CR_Invalid: { type: 'Tcp_CR_Invalid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails' },
  BGPOpen: { type: 'BGPOpen', holdTime: 60 },
  BGPHeaderErr: { type: 'BGPHeaderErr', code: 1, subcode: 2 },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', code: 2, subcode: 2 },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr' },
  NotifMsg: { type: 'NotifMsg', code: 6, subcode: 2, shutdownMessage: 'bye' },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg' },
  UpdateMsgErr: { type: 'UpdateMsgErr', code: 3, subcode: 11 },
  RouteRefreshMsg: { type: 'RouteRefreshMsg' },
  UpdateMsgSent: { type: 'UpdateMsgSent' },
};

type Row = readonly [next: FsmStateName, actions: readonly string[]];
type Table = { readonly [T in FsmEventType]: Row };

const IGNORED = (s: FsmStateName): Row => [s, []];

// Transition to Idle from a state whose running timers are `timers`, with the automatic restart.
const idle = (pre: readonly string[], timers: readonly string[], kind: string): Row => [
  'Idle',
  [...pre, 'close', ...timers.map((t) => `clear ${t}`), 'set idleHold', `down ${kind}`],
];
// ManualStop: no restart.
const stopped = (pre: readonly string[], timers: readonly string[]): Row => [
  'Idle',
  [...pre, 'close', ...timers.map((t) => `clear ${t}`), 'down adminShutdown'],
];

/** Idle after a failed session: the IdleHoldTimer runs. Everything but starts is ignored. */
const IDLE: Table = {
  ...(Object.fromEntries(Object.keys(EVENTS).map((k) => [k, IGNORED('Idle')])) as Table),
  ManualStart: ['Connect', ['connect', 'set connectRetry', 'clear idleHold']],
  IdleHoldTimer_Expires: ['Connect', ['connect', 'set connectRetry', 'clear idleHold']],
  ManualStop: ['Idle', ['clear idleHold']],
};

const CR = ['connectRetry'];
const CONNECT: Table = {
  ManualStart: IGNORED('Connect'),
  AutomaticStart: IGNORED('Connect'),
  ManualStop: stopped([], CR),
  AutomaticStop: idle([], CR, 'connectionClosed'),
  ConnectRetryTimer_Expires: ['Connect', ['close', 'connect', 'set connectRetry']],
  HoldTimer_Expires: IGNORED('Connect'),
  KeepaliveTimer_Expires: IGNORED('Connect'),
  DelayOpenTimer_Expires: IGNORED('Connect'),
  IdleHoldTimer_Expires: IGNORED('Connect'),
  TcpConnection_Valid: IGNORED('Connect'),
  Tcp_CR_Invalid: IGNORED('Connect'),
  Tcp_CR_Acked: ['OpenSent', ['open', 'clear connectRetry', 'set hold']],
  TcpConnectionConfirmed: ['OpenSent', ['open', 'clear connectRetry', 'set hold']],
  TcpConnectionFails: idle([], CR, 'connectionFailed'),
  BGPOpen: idle([], CR, 'fsmError'),
  BGPHeaderErr: idle([], CR, 'fsmError'),
  BGPOpenMsgErr: idle([], CR, 'openRejected'),
  OpenCollisionDump: idle([], CR, 'fsmError'),
  NotifMsgVerErr: idle([], CR, 'notificationReceived'),
  NotifMsg: idle([], CR, 'notificationReceived'),
  KeepAliveMsg: idle([], CR, 'fsmError'),
  UpdateMsg: idle([], CR, 'fsmError'),
  UpdateMsgErr: idle([], CR, 'fsmError'),
  RouteRefreshMsg: idle([], CR, 'fsmError'),
  UpdateMsgSent: IGNORED('Connect'),
};

const ACTIVE: Table = {
  ...CONNECT,
  ManualStart: IGNORED('Active'),
  AutomaticStart: IGNORED('Active'),
  ConnectRetryTimer_Expires: ['Connect', ['connect', 'set connectRetry']],
  HoldTimer_Expires: IGNORED('Active'),
  KeepaliveTimer_Expires: IGNORED('Active'),
  DelayOpenTimer_Expires: IGNORED('Active'),
  IdleHoldTimer_Expires: IGNORED('Active'),
  TcpConnection_Valid: IGNORED('Active'),
  Tcp_CR_Invalid: IGNORED('Active'),
  UpdateMsgSent: IGNORED('Active'),
};

const H = ['hold'];
const OPEN_SENT: Table = {
  ManualStart: IGNORED('OpenSent'),
  AutomaticStart: IGNORED('OpenSent'),
  ManualStop: stopped(['notify 6/2'], H),
  AutomaticStop: idle(['notify 6/1'], H, 'notificationSent'),
  ConnectRetryTimer_Expires: IGNORED('OpenSent'),
  HoldTimer_Expires: idle(['notify 4/0'], H, 'holdTimerExpired'),
  KeepaliveTimer_Expires: IGNORED('OpenSent'),
  DelayOpenTimer_Expires: IGNORED('OpenSent'),
  IdleHoldTimer_Expires: IGNORED('OpenSent'),
  TcpConnection_Valid: IGNORED('OpenSent'),
  Tcp_CR_Invalid: IGNORED('OpenSent'),
  Tcp_CR_Acked: IGNORED('OpenSent'),
  TcpConnectionConfirmed: IGNORED('OpenSent'),
  TcpConnectionFails: ['Active', ['close', 'set connectRetry', 'clear hold']],
  BGPOpen: ['OpenConfirm', ['keepalive', 'set hold', 'set keepalive']],
  BGPHeaderErr: idle(['notify 1/2'], H, 'notificationSent'),
  BGPOpenMsgErr: idle(['notify 2/2'], H, 'openRejected'),
  OpenCollisionDump: idle(['notify 6/7'], H, 'collision'),
  NotifMsgVerErr: idle([], H, 'notificationReceived'),
  NotifMsg: idle([], H, 'notificationReceived'),
  KeepAliveMsg: idle(['notify 5/1'], H, 'fsmError'),
  UpdateMsg: idle(['notify 5/1'], H, 'fsmError'),
  UpdateMsgErr: idle(['notify 5/1'], H, 'fsmError'),
  RouteRefreshMsg: idle(['notify 5/1'], H, 'fsmError'),
  UpdateMsgSent: IGNORED('OpenSent'),
};

const HK = ['hold', 'keepalive'];
const OPEN_CONFIRM: Table = {
  ManualStart: IGNORED('OpenConfirm'),
  AutomaticStart: IGNORED('OpenConfirm'),
  ManualStop: stopped(['notify 6/2'], HK),
  AutomaticStop: idle(['notify 6/1'], HK, 'notificationSent'),
  ConnectRetryTimer_Expires: IGNORED('OpenConfirm'),
  HoldTimer_Expires: idle(['notify 4/0'], HK, 'holdTimerExpired'),
  KeepaliveTimer_Expires: ['OpenConfirm', ['keepalive', 'set keepalive']],
  DelayOpenTimer_Expires: IGNORED('OpenConfirm'),
  IdleHoldTimer_Expires: IGNORED('OpenConfirm'),
  TcpConnection_Valid: IGNORED('OpenConfirm'),
  Tcp_CR_Invalid: IGNORED('OpenConfirm'),
  Tcp_CR_Acked: IGNORED('OpenConfirm'),
  TcpConnectionConfirmed: IGNORED('OpenConfirm'),
  TcpConnectionFails: idle([], HK, 'connectionClosed'),
  BGPOpen: idle(['notify 5/2'], HK, 'fsmError'),
  BGPHeaderErr: idle(['notify 1/2'], HK, 'notificationSent'),
  BGPOpenMsgErr: idle(['notify 2/2'], HK, 'openRejected'),
  OpenCollisionDump: idle(['notify 6/7'], HK, 'collision'),
  NotifMsgVerErr: idle([], HK, 'notificationReceived'),
  NotifMsg: idle([], HK, 'notificationReceived'),
  KeepAliveMsg: ['Established', ['set hold', 'established']],
  UpdateMsg: idle(['notify 5/2'], HK, 'fsmError'),
  UpdateMsgErr: idle(['notify 5/2'], HK, 'fsmError'),
  RouteRefreshMsg: idle(['notify 5/2'], HK, 'fsmError'),
  UpdateMsgSent: IGNORED('OpenConfirm'),
};

const ESTABLISHED: Table = {
  ManualStart: IGNORED('Established'),
  AutomaticStart: IGNORED('Established'),
  ManualStop: stopped(['notify 6/2'], HK),
  AutomaticStop: idle(['notify 6/1'], HK, 'notificationSent'),
  ConnectRetryTimer_Expires: IGNORED('Established'),
  HoldTimer_Expires: idle(['notify 4/0'], HK, 'holdTimerExpired'),
  KeepaliveTimer_Expires: ['Established', ['keepalive', 'set keepalive']],
  DelayOpenTimer_Expires: IGNORED('Established'),
  IdleHoldTimer_Expires: IGNORED('Established'),
  TcpConnection_Valid: IGNORED('Established'),
  Tcp_CR_Invalid: IGNORED('Established'),
  Tcp_CR_Acked: IGNORED('Established'),
  TcpConnectionConfirmed: IGNORED('Established'),
  TcpConnectionFails: idle([], HK, 'connectionClosed'),
  BGPOpen: idle(['notify 5/3'], HK, 'fsmError'),
  BGPHeaderErr: idle(['notify 1/2'], HK, 'notificationSent'),
  BGPOpenMsgErr: idle(['notify 5/3'], HK, 'fsmError'),
  OpenCollisionDump: idle(['notify 6/7'], HK, 'collision'),
  NotifMsgVerErr: idle([], HK, 'notificationReceived'),
  NotifMsg: idle([], HK, 'notificationReceived'),
  KeepAliveMsg: ['Established', ['set hold']],
  UpdateMsg: ['Established', ['set hold']],
  UpdateMsgErr: idle(['notify 3/11'], HK, 'notificationSent'),
  RouteRefreshMsg: ['Established', ['set hold']],
  UpdateMsgSent: ['Established', ['set keepalive']],
};

const TABLES: readonly [FsmStateName, Table][] = [
  ['Idle', IDLE],
  ['Connect', CONNECT],
  ['Active', ACTIVE],
  ['OpenSent', OPEN_SENT],
  ['OpenConfirm', OPEN_CONFIRM],
  ['Established', ESTABLISHED],
];

const cfg = config();
const NOW = 10_000; // after every fixture path, so restarted timers get new deadlines

for (const [stateName, table] of TABLES) {
  describe(`RFC 4271 §8.2.2 ${stateName}`, () => {
    const from: FsmState = reach(cfg, stateName);
    for (const type of Object.keys(EVENTS) as FsmEventType[]) {
      const [next, actions] = table[type];
      it(`${type} → ${next} [${actions.join(', ')}]`, () => {
        const r = step(cfg, from, EVENTS[type], env(NOW));
        expect(r.state.name).toBe(next);
        expect(fmtAll(r.actions)).toEqual(actions);
        if (actions.length === 0) expect(r.state).toBe(from);
      });
    }
  });
}

describe('Idle before the first ManualStart', () => {
  const fresh = initialFsmState(cfg, 0);
  for (const type of Object.keys(EVENTS) as FsmEventType[]) {
    const expected = type === 'ManualStart' ? ['connect', 'set connectRetry'] : [];
    it(`${type} → ${type === 'ManualStart' ? 'Connect' : 'Idle'}`, () => {
      const r = step(cfg, fresh, EVENTS[type], env(NOW));
      expect(fmtAll(r.actions)).toEqual(expected);
      expect(r.state.name).toBe(type === 'ManualStart' ? 'Connect' : 'Idle');
    });
  }
});
