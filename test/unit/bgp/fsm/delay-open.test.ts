// RFC 4271 §8.2.2 rows that only exist with the DelayOpen attribute (Events 12 and 20) and
// the SendNOTIFICATIONwithoutOPEN attribute.
import { describe, expect, it } from 'vitest';
import { type FsmConfig, type FsmState, initialFsmState, step } from '../../../../bgp/fsm/index.ts';
import { config, env, fmtAll, run } from './fixtures.ts';

/** Connect with our TCP connection up and the DelayOpenTimer running (armed at 1 s). */
function delaying(cfg: FsmConfig, state: 'Connect' | 'Active' = 'Connect'): FsmState {
  if (state === 'Connect') {
    return run(cfg, [
      [0, { type: 'ManualStart' }],
      [1_000, { type: 'Tcp_CR_Acked' }],
    ]).state;
  }
  const passive = step(cfg, initialFsmState(cfg, 0), { type: 'ManualStart' }, env(0)).state;
  return step(cfg, passive, { type: 'TcpConnectionConfirmed' }, env(1_000)).state;
}

describe('DelayOpen', () => {
  const cfg = config({ delayOpen: true, delayOpenTime: 5 });

  it('TCP up in Connect: stop ConnectRetryTimer, start DelayOpenTimer, send nothing yet', () => {
    const s = run(cfg, [[0, { type: 'ManualStart' }]]).state;
    const r = step(cfg, s, { type: 'Tcp_CR_Acked' }, env(1_000));
    expect(r.state.name).toBe('Connect');
    expect(fmtAll(r.actions)).toEqual(['clear connectRetry', 'set delayOpen']);
    expect(r.state.timers.delayOpen).toBe(6_000);
  });

  it('DelayOpenTimer_Expires: send OPEN, OpenSent with the large hold time', () => {
    const r = step(cfg, delaying(cfg), { type: 'DelayOpenTimer_Expires' }, env(6_000));
    expect(r.state.name).toBe('OpenSent');
    expect(fmtAll(r.actions)).toEqual(['open', 'set hold', 'clear delayOpen']);
    expect(r.state.timers.hold).toBe(246_000);
  });

  it('the peer OPEN arrives first (Event 20): OPEN + KEEPALIVE, OpenConfirm', () => {
    const r = step(cfg, delaying(cfg), { type: 'BGPOpen', holdTime: 30 }, env(2_000));
    expect(r.state.name).toBe('OpenConfirm');
    expect(fmtAll(r.actions)).toEqual(['open', 'keepalive', 'set hold', 'set keepalive', 'clear delayOpen']);
    expect(r.state.negotiatedHoldTime).toBe(30);
  });

  it('Event 20 with an unacceptable hold time: Idle, no NOTIFICATION without SendNOTIFICATIONwithoutOPEN', () => {
    const r = step(cfg, delaying(cfg), { type: 'BGPOpen', holdTime: 2 }, env(2_000));
    expect(fmtAll(r.actions)).toEqual(['close', 'clear delayOpen', 'set idleHold', 'down openRejected']);
    expect(r.reason?.subcode).toBe(6);
  });

  it('with SendNOTIFICATIONwithoutOPEN the OPEN error and ManualStop are reported to the peer', () => {
    const loud = config({ delayOpen: true, sendNotificationWithoutOpen: true });
    const bad = step(loud, delaying(loud), { type: 'BGPOpen', holdTime: 1 }, env(2_000));
    expect(fmtAll(bad.actions)[0]).toBe('notify 2/6');
    const stop = step(loud, delaying(loud), { type: 'ManualStop', shutdownMessage: 'bye' }, env(2_000));
    expect(stop.actions[0]).toEqual({
      type: 'sendNotification',
      code: 6,
      subcode: 2,
      shutdownMessage: 'bye',
    });
    const quiet = step(cfg, delaying(cfg), { type: 'ManualStop' }, env(2_000));
    expect(fmtAll(quiet.actions)).toEqual(['close', 'clear delayOpen', 'down adminShutdown']);
  });

  it('TcpConnectionFails while delaying: Connect → Active with the ConnectRetryTimer', () => {
    const r = step(cfg, delaying(cfg), { type: 'TcpConnectionFails' }, env(2_000));
    expect(r.state.name).toBe('Active');
    expect(fmtAll(r.actions)).toEqual(['set connectRetry', 'clear delayOpen']);
    expect(r.reason).toBeUndefined();
  });

  it('TcpConnectionFails while delaying in Active: Idle', () => {
    const passive = config({ delayOpen: true, passive: true });
    const s = delaying(passive, 'Active');
    expect(s.name).toBe('Active');
    expect(s.timers.delayOpen).toBe(6_000);
    const r = step(passive, s, { type: 'TcpConnectionFails' }, env(2_000));
    expect(r.state.name).toBe('Idle');
    expect(r.reason?.kind).toBe('connectionClosed');
  });

  it('NotifMsgVerErr while delaying: Idle without damping', () => {
    const r = step(cfg, delaying(cfg), { type: 'NotifMsgVerErr' }, env(2_000));
    expect(r.state.name).toBe('Idle');
    expect(r.state.idleHoldTime).toBe(1);
    expect(r.state.connectRetryCounter).toBe(0);
    expect(r.reason?.message).toBe('Received: Unsupported version number');
  });

  it('an OPEN without the DelayOpenTimer running is unexpected in Connect', () => {
    const plain = config();
    const s = run(plain, [[0, { type: 'ManualStart' }]]).state;
    const r = step(plain, s, { type: 'BGPOpen', holdTime: 90 }, env(1_000));
    expect(r.state.name).toBe('Idle');
    expect(r.reason).toEqual({ kind: 'fsmError', message: 'Unexpected OPEN in Connect' });
  });
});
