// Session lifecycle across steps: idle hold damping of a flapping peer and its reset after a
// stable session, administrative shutdown with an RFC 9003 message, Cease from the peer, the
// speaker's four signals, and AllowAutomaticStart.
import { describe, expect, it } from 'vitest';
import {
  type FsmConfig,
  type FsmState,
  fireDueTimers,
  initialFsmState,
  nextDeadline,
  type PeerSignal,
  step,
} from '../../../../bgp/fsm/index.ts';
import { config, env, fmtAll, reach } from './fixtures.ts';

/** From Idle with a pending restart: wait it out, establish, stay up `upFor` ms, fail. */
function flap(cfg: FsmConfig, idle: FsmState, upFor: number) {
  const restartAt = idle.timers.idleHold;
  if (restartAt === null) throw new Error('no restart pending');
  let s = fireDueTimers(cfg, idle, env(restartAt)).state;
  s = step(cfg, s, { type: 'Tcp_CR_Acked' }, env(restartAt)).state;
  s = step(cfg, s, { type: 'BGPOpen', holdTime: 90 }, env(restartAt)).state;
  s = step(cfg, s, { type: 'KeepAliveMsg' }, env(restartAt)).state;
  expect(s.name).toBe('Established');
  const downAt = restartAt + upFor;
  const r = step(cfg, s, { type: 'TcpConnectionFails' }, env(downAt));
  expect(r.state.name).toBe('Idle');
  return { state: r.state, restartAt, downAt, wait: (r.state.timers.idleHold ?? Number.NaN) - downAt };
}

describe('DampPeerOscillations: idle hold time', () => {
  it('doubles per flap from 1 s up to 120 s', () => {
    const cfg = config();
    let s = step(cfg, reach(cfg, 'Established'), { type: 'TcpConnectionFails' }, env(10_000)).state;
    const waits = [(s.timers.idleHold ?? 0) - 10_000];
    for (let i = 0; i < 9; i++) {
      const f = flap(cfg, s, 5_000);
      waits.push(f.wait);
      s = f.state;
    }
    expect(waits.map((w) => w / 1000)).toEqual([1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
    expect(s.idleHoldTime).toBe(120);
  });

  it('resets to the initial value after a session stayed Established for the stable period', () => {
    const cfg = config({ idleHoldStableTime: 60 });
    let s = step(cfg, reach(cfg, 'Established'), { type: 'TcpConnectionFails' }, env(10_000)).state;
    for (let i = 0; i < 4; i++) s = flap(cfg, s, 1_000).state;
    expect(s.idleHoldTime).toBe(32);
    const almost = flap(cfg, s, 59_999);
    expect(almost.wait).toBe(32_000);
    const stable = flap(cfg, almost.state, 60_000);
    expect(stable.wait).toBe(1_000);
    expect(stable.state.idleHoldTime).toBe(2);
  });

  it('grows for failures before Established too (refused connections)', () => {
    const cfg = config();
    let s = step(cfg, initialFsmState(cfg, 0), { type: 'ManualStart' }, env(0)).state;
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 4; i++) {
      const r = step(cfg, s, { type: 'TcpConnectionFails', message: 'ECONNREFUSED' }, env(now));
      expect(r.reason?.message).toBe('Connection failed: ECONNREFUSED');
      waits.push((r.state.timers.idleHold ?? 0) - now);
      now = r.state.timers.idleHold ?? 0;
      s = fireDueTimers(cfg, r.state, env(now)).state;
      expect(s.name).toBe('Connect');
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('stays at the initial value when damping is off', () => {
    const cfg = config({ dampPeerOscillations: false, idleHoldTime: 3 });
    let s = step(cfg, reach(cfg, 'Established'), { type: 'TcpConnectionFails' }, env(10_000)).state;
    for (let i = 0; i < 3; i++) {
      const f = flap(cfg, s, 1_000);
      expect(f.wait).toBe(3_000);
      s = f.state;
    }
  });

  it('NotifMsgVerErr before Established does not damp or count (version negotiation retries)', () => {
    const cfg = config();
    const r = step(cfg, reach(cfg, 'OpenSent'), { type: 'NotifMsgVerErr' }, env(5_000));
    expect(r.state.idleHoldTime).toBe(1);
    expect(r.state.connectRetryCounter).toBe(0);
    expect(r.state.timers.idleHold).toBe(6_000);
  });

  it('ManualStart resets damping and the counters', () => {
    const cfg = config();
    let s = step(cfg, reach(cfg, 'Established'), { type: 'TcpConnectionFails' }, env(10_000)).state;
    for (let i = 0; i < 3; i++) s = flap(cfg, s, 1_000).state;
    expect(s.idleHoldTime).toBe(16);
    expect(s.connectRetryCounter).toBe(1);
    const r = step(cfg, s, { type: 'ManualStart' }, env(s.lastStateChange + 1));
    expect(r.state.name).toBe('Connect');
    expect(r.state.idleHoldTime).toBe(1);
    expect(r.state.connectRetryCounter).toBe(0);
    expect(r.state.timers.idleHold).toBeNull();
  });
});

describe('administrative shutdown (RFC 4486, RFC 9003)', () => {
  const cfg = config();
  it('ManualStop in Established sends Cease/Administrative Shutdown with the message and stays down', () => {
    const est = reach(cfg, 'Established');
    const r = step(cfg, est, { type: 'ManualStop', shutdownMessage: 'maintenance' }, env(20_000));
    expect(r.actions[0]).toEqual({
      type: 'sendNotification',
      code: 6,
      subcode: 2,
      shutdownMessage: 'maintenance',
    });
    expect(r.reason).toEqual({
      kind: 'adminShutdown',
      code: 6,
      subcode: 2,
      shutdownMessage: 'maintenance',
      message: 'Administrative shutdown: maintenance',
    });
    expect(r.signal).toBe('stop');
    expect(r.state).toMatchObject({ name: 'Idle', isStopped: true, connectRetryCounter: 0 });
    expect(nextDeadline(r.state)).toBeNull();
    // No automatic restart, whatever time passes or the speaker asks for.
    const auto = step(cfg, r.state, { type: 'AutomaticStart' }, env(10_000_000));
    expect(auto.state).toBe(r.state);
    expect(step(cfg, r.state, { type: 'ManualStart' }, env(10_000_000)).state.name).toBe('Connect');
  });

  it('ManualStop with another Cease subcode (peer de-configured)', () => {
    const r = step(cfg, reach(cfg, 'OpenConfirm'), { type: 'ManualStop', subcode: 3 }, env(5_000));
    expect(r.actions[0]).toEqual({ type: 'sendNotification', code: 6, subcode: 3 });
    expect(r.reason?.message).toBe('Peer de-configured');
  });

  it('a silent ManualStop in Established closes without a NOTIFICATION (graceful restart)', () => {
    const est = reach(cfg, 'Established');
    const r = step(
      cfg,
      est,
      { type: 'ManualStop', silent: true, shutdownMessage: 'restarting' },
      env(20_000),
    );
    expect(r.actions.some((a) => a.type === 'sendNotification')).toBe(false);
    expect(r.actions[0]).toEqual({ type: 'closeConnection' });
    expect(r.reason).toEqual({
      kind: 'adminShutdown',
      shutdownMessage: 'restarting',
      message: 'Closed without NOTIFICATION (graceful restart): restarting',
    });
    expect(r.signal).toBe('stop');
    expect(r.state).toMatchObject({ name: 'Idle', isStopped: true });
  });

  it('ManualStop before any OPEN closes without a NOTIFICATION', () => {
    const r = step(cfg, reach(cfg, 'Connect'), { type: 'ManualStop', shutdownMessage: 'x' }, env(500));
    expect(fmtAll(r.actions)).toEqual(['close', 'clear connectRetry', 'down adminShutdown']);
    expect(r.reason).toEqual({
      kind: 'adminShutdown',
      shutdownMessage: 'x',
      message: 'Administrative shutdown: x',
    });
  });

  it('ManualStop in Idle cancels a pending automatic restart', () => {
    const idle = reach(cfg, 'Idle');
    expect(idle.timers.idleHold).not.toBeNull();
    const r = step(cfg, idle, { type: 'ManualStop' }, env(1_500));
    expect(r.signal).toBe('stop');
    expect(r.state.isStopped).toBe(true);
    expect(nextDeadline(r.state)).toBeNull();
  });

  it('Cease from the peer: down with its reason, automatic restart after the idle hold time', () => {
    const est = reach(cfg, 'Established');
    const r = step(
      cfg,
      est,
      { type: 'NotifMsg', code: 6, subcode: 2, shutdownMessage: 'maintenance' },
      env(30_000),
    );
    expect(fmtAll(r.actions)).toEqual([
      'close',
      'clear hold',
      'clear keepalive',
      'set idleHold',
      'down notificationReceived',
    ]);
    expect(r.reason).toEqual({
      kind: 'notificationReceived',
      code: 6,
      subcode: 2,
      shutdownMessage: 'maintenance',
      message: 'Received: Administrative shutdown: maintenance',
    });
    expect(r.signal).toBe('down');
    expect(r.state.isStopped).toBe(false);
    const restarted = fireDueTimers(cfg, r.state, env(31_000));
    expect(restarted.results[0]?.signal).toBe('start');
    expect(restarted.state.name).toBe('Connect');
  });

  it('AutomaticStop (maximum prefixes) sends Cease subcode 1 and restarts later', () => {
    const r = step(
      cfg,
      reach(cfg, 'Established'),
      { type: 'AutomaticStop', subcode: 1, message: 'limit 100' },
      env(9_000),
    );
    expect(r.actions[0]).toEqual({ type: 'sendNotification', code: 6, subcode: 1 });
    expect(r.reason?.message).toBe('Error: Maximum number of prefixes reached: limit 100');
    expect(r.signal).toBe('down');
    expect(r.state.timers.idleHold).toBe(10_000);
  });
});

describe('the speaker sees only Start / Up / Down / Stop', () => {
  it('signals each transition once, and lastStateChange follows the state name', () => {
    const cfg = config();
    let s = initialFsmState(cfg, 0);
    const seen: [string, PeerSignal | undefined][] = [];
    const events = [
      { type: 'ManualStart' },
      { type: 'Tcp_CR_Acked' },
      { type: 'BGPOpen', holdTime: 90 },
      { type: 'KeepAliveMsg' },
      { type: 'KeepAliveMsg' },
      { type: 'HoldTimer_Expires' },
      { type: 'IdleHoldTimer_Expires' },
      { type: 'ManualStop' },
    ] as const;
    for (const [i, e] of events.entries()) {
      const r = step(cfg, s, e, env(i * 1000));
      seen.push([r.state.name, r.signal]);
      if (r.state.name !== s.name) expect(r.state.lastStateChange).toBe(i * 1000);
      else expect(r.state.lastStateChange).toBe(s.lastStateChange);
      s = r.state;
    }
    expect(seen).toEqual([
      ['Connect', 'start'],
      ['OpenSent', undefined],
      ['OpenConfirm', undefined],
      ['Established', 'up'],
      ['Established', undefined],
      ['Idle', 'down'],
      ['Connect', 'start'],
      ['Idle', 'stop'],
    ]);
  });

  it('the established action comes with Up and the down action carries the same reason as the result', () => {
    const cfg = config();
    const oc = reach(cfg, 'OpenConfirm');
    const up = step(cfg, oc, { type: 'KeepAliveMsg' }, env(5_000));
    expect(up.actions.at(-1)).toEqual({ type: 'established' });
    expect(up.state.establishedAt).toBe(5_000);
    const down = step(cfg, up.state, { type: 'UpdateMsgErr', code: 3, subcode: 11 }, env(6_000));
    expect(down.actions.at(-1)).toEqual({ type: 'down', reason: down.reason });
    expect(down.reason?.message).toBe('Error: Malformed AS_PATH');
    expect(down.state.lastDownReason).toBe(down.reason);
  });
});

describe('AllowAutomaticStart (RFC 4271 §8.1.1)', () => {
  it('false: a failed session stays Idle until the speaker starts it', () => {
    const manual = config({ allowAutomaticStart: false });
    const idle = step(
      manual,
      reach(manual, 'Established'),
      { type: 'TcpConnectionFails' },
      env(10_000),
    ).state;
    expect(nextDeadline(idle)).toBeNull();
    expect(step(manual, idle, { type: 'AutomaticStart' }, env(20_000)).state).toBe(idle);
    // With the config changed to allow it, AutomaticStart starts without resetting damping.
    const auto = config({ allowAutomaticStart: true });
    const r = step(auto, idle, { type: 'AutomaticStart' }, env(20_000));
    expect(r.state.name).toBe('Connect');
    expect(r.signal).toBe('start');
    expect(r.state.idleHoldTime).toBe(idle.idleHoldTime);
  });

  it('AutomaticStart waits for a pending IdleHoldTimer', () => {
    const cfg = config();
    const idle = reach(cfg, 'Idle');
    expect(step(cfg, idle, { type: 'AutomaticStart' }, env(1_100)).state).toBe(idle);
  });
});

describe('configuration applies to the next session, not the running one', () => {
  it('holdTime is copied when the FSM leaves Idle', () => {
    const before = config({ holdTime: 30 });
    const s = reach(before, 'OpenSent');
    const after = config({ holdTime: 9 });
    const r = step(after, s, { type: 'BGPOpen', holdTime: 90 }, env(3_000));
    expect(r.state.negotiatedHoldTime).toBe(30);
  });
});
