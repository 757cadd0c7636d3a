// Properties of the RFC 4271 §8 step function over arbitrary event sequences and configs.
// fast-check prints the seed and path of a failure; replay with FC_SEED=<seed>.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FSM_STATES,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type FsmTimers,
  fireDueTimers,
  initialFsmState,
  resolveFsmConfig,
  type StepResult,
  step,
  TIMER_NAMES,
} from '../../bgp/fsm/index.ts';

const fcParams = (numRuns: number): fc.Parameters<unknown> =>
  process.env.FC_SEED ? { numRuns, seed: Number(process.env.FC_SEED) } : { numRuns };

const configArb: fc.Arbitrary<FsmConfig> = fc
  .record({
    holdTime: fc.constantFrom(0, 3, 9, 90, 240),
    passive: fc.boolean(),
    delayOpen: fc.boolean(),
    delayOpenTime: fc.integer({ min: 1, max: 10 }),
    idleHoldTime: fc.constantFrom(0, 1, 5),
    allowAutomaticStart: fc.boolean(),
    dampPeerOscillations: fc.boolean(),
    sendNotificationWithoutOpen: fc.boolean(),
    connectRetryJitter: fc.constantFrom(0, 0.25, 0.5),
  })
  .map((c) => resolveFsmConfig(c));

const code = fc.integer({ min: 0, max: 9 });
const subcode = fc.integer({ min: 0, max: 12 });
const eventArb: fc.Arbitrary<FsmEvent> = fc.oneof(
  fc.constantFrom<FsmEvent>(
    { type: 'ManualStart' },
    { type: 'AutomaticStart' },
    { type: 'ConnectRetryTimer_Expires' },
    { type: 'HoldTimer_Expires' },
    { type: 'KeepaliveTimer_Expires' },
    { type: 'DelayOpenTimer_Expires' },
    { type: 'IdleHoldTimer_Expires' },
    { type: 'TcpConnection_Valid' },
    { type: 'Tcp_CR_Invalid' },
    { type: 'Tcp_CR_Acked' },
    { type: 'TcpConnectionConfirmed' },
    { type: 'TcpConnectionFails' },
    { type: 'OpenCollisionDump' },
    { type: 'NotifMsgVerErr' },
    { type: 'KeepAliveMsg' },
    { type: 'UpdateMsg' },
    { type: 'RouteRefreshMsg' },
    { type: 'UpdateMsgSent' },
  ),
  fc.record({ type: fc.constant('ManualStop' as const), shutdownMessage: fc.string({ maxLength: 8 }) }),
  fc.record({ type: fc.constant('AutomaticStop' as const), subcode }),
  // Any integer, including the unacceptable 1, 2, negatives and > 65535.
  fc.record({ type: fc.constant('BGPOpen' as const), holdTime: fc.integer({ min: -5, max: 70_000 }) }),
  fc.record({
    type: fc.constantFrom('BGPHeaderErr' as const, 'BGPOpenMsgErr' as const, 'UpdateMsgErr' as const),
    code,
    subcode,
  }),
  fc.record({ type: fc.constant('NotifMsg' as const), code, subcode }),
);

// A step in a run: an event after `dt` ms, or "the host timer fired" after `dt` ms.
const stepArb = fc.record({
  dt: fc.integer({ min: 0, max: 300_000 }),
  event: fc.option(eventArb, { nil: null }),
});

function applyTimerActions(timers: FsmTimers, r: StepResult): FsmTimers {
  const out: { -readonly [K in keyof FsmTimers]: number | null } = { ...timers };
  for (const a of r.actions) {
    if (a.type === 'setTimer') out[a.timer] = a.at;
    if (a.type === 'clearTimer') out[a.timer] = null;
  }
  return out;
}

function checkStep(cfg: FsmConfig, prev: FsmState, r: StepResult, now: number): void {
  const s = r.state;
  expect(FSM_STATES).toContain(s.name);
  for (const a of r.actions) if (a.type === 'setTimer') expect(a.at).toBeGreaterThanOrEqual(now);
  // The timer actions say exactly how the timers changed.
  expect(applyTimerActions(prev.timers, r)).toEqual(s.timers);
  const downs = r.actions.filter((a) => a.type === 'down');
  expect(downs.length).toBe(r.reason === undefined ? 0 : 1);
  if (r.reason) expect(s.name).toBe('Idle');
  expect(s.lastStateChange).toBeLessThanOrEqual(now);
  if (s.name === 'Idle') {
    for (const t of TIMER_NAMES) if (t !== 'idleHold') expect(s.timers[t]).toBeNull();
    expect(s.negotiatedHoldTime).toBeNull();
  }
  if (s.isStopped) expect(s.timers.idleHold).toBeNull();
  if (s.name === 'Established' || s.name === 'OpenConfirm') {
    const h = s.negotiatedHoldTime;
    expect(h).not.toBeNull();
    expect(s.timers.hold === null).toBe(h === 0);
    if (s.name === 'Established') expect(s.timers.keepalive === null).toBe(h === 0);
  }
  if (s.passiveTcpEstablishment) {
    expect(s.timers.connectRetry).toBeNull();
    expect(r.actions.some((a) => a.type === 'connect')).toBe(false);
  }
  expect(s.idleHoldTime).toBeGreaterThanOrEqual(cfg.idleHoldTime);
  expect(s.idleHoldTime).toBeLessThanOrEqual(cfg.idleHoldMaxTime);
  if (r.signal === 'up') expect(s.name).toBe('Established');
  if (r.signal === 'start') expect(prev.name).toBe('Idle');
}

describe('property: step over arbitrary event sequences', () => {
  it('never throws, stays in the six states, never arms a timer in the past, keeps its invariants', () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(stepArb, { maxLength: 60 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (cfg, steps, randoms) => {
          const random = () => randoms.next().value as number;
          let state = initialFsmState(cfg, 0);
          let now = 0;
          for (const { dt, event } of steps) {
            now += dt;
            const results = event
              ? [step(cfg, state, event, { now, random })]
              : fireDueTimers(cfg, state, { now, random }).results;
            for (const r of results) {
              checkStep(cfg, state, r, now);
              state = r.state;
            }
          }
        },
      ),
      fcParams(400),
    );
  });

  it('an ignored event returns the same state object and no actions', () => {
    fc.assert(
      fc.property(configArb, fc.array(eventArb, { maxLength: 30 }), (cfg, events) => {
        let state = initialFsmState(cfg, 0);
        for (const [i, event] of events.entries()) {
          const r = step(cfg, state, event, { now: i * 1000, random: () => 0.5 });
          if (r.actions.length === 0 && r.signal === undefined) {
            expect(r.state.name).toBe(state.name);
            expect(r.state.timers).toEqual(state.timers);
          }
          if (r.state === state) expect(r.actions).toEqual([]);
          state = r.state;
        }
      }),
      fcParams(300),
    );
  });
});
