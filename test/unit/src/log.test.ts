// The BGP log subscriber on the real diagnostics channels: warnings are rate-limited per peer and
// reason (the first at once, then one line a minute with `suppressed: N` and the last example),
// and every event counts in the /metrics counters whether it was logged or not. Time is a
// ManualClock, so the minute boundaries are exact.
import { afterEach, describe, expect, it } from 'vitest';
import { channels } from '../../../bgp/speaker/diagnostics.ts';
import { renderMetrics } from '../../../src/api/metrics.ts';
import { type BgpLog, subscribeBgpLog } from '../../../src/log.ts';
import { ManualClock } from '../../support/manual-clock.ts';

const MINUTE = 60_000;

interface Line {
  readonly time: string;
  readonly level: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

const open: BgpLog[] = [];
afterEach(() => {
  for (const l of open.splice(0)) l.close();
});

function start(options: { maxKeys?: number } = {}) {
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const lines: Line[] = [];
  const bgpLog = subscribeBgpLog({
    now: clock.now,
    timers: clock.timers,
    write: (line) => lines.push(JSON.parse(line) as Line),
    ...options,
  });
  open.push(bgpLog);
  return { clock, lines, bgpLog };
}

function updateError(address: string, action: string, prefixes: number): void {
  channels.updateError.publish({ address, action, typeCode: 2, reason: 'malformed AS_PATH', prefixes });
}

/** The value of one sample of the rendered exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('BGP log rate limit', () => {
  it('logs 1,000 errors from one peer as one line, then one summary a minute', () => {
    const { clock, lines } = start();
    // One event every 200 ms: 300 a minute, the first at t=0 and the last at 199.8 s.
    updateError('192.0.2.2', 'treat-as-withdraw', 0);
    for (let i = 1; i < 1000; i++) {
      clock.advance(200);
      updateError('192.0.2.2', 'treat-as-withdraw', i);
    }
    // The minute ending at 240 s reports the tail; the one ending at 300 s has nothing to say.
    clock.advance(2 * MINUTE);
    expect(lines.map((l) => [l.time, l.event, l.suppressed, l.prefixes])).toEqual([
      ['2025-01-01T00:00:00.000Z', 'bgp.updateError', undefined, 0],
      // Events 1..299 (event 300 arrives at 60 s, just after the first minute closed).
      ['2025-01-01T00:01:00.000Z', 'bgp.updateError', 299, 299],
      ['2025-01-01T00:02:00.000Z', 'bgp.updateError', 300, 599],
      ['2025-01-01T00:03:00.000Z', 'bgp.updateError', 300, 899],
      ['2025-01-01T00:04:00.000Z', 'bgp.updateError', 100, 999],
    ]);
    expect(lines.every((l) => l.level === 'warn' && l.address === '192.0.2.2')).toBe(true);
    expect(lines[4]).toMatchObject({ action: 'treat-as-withdraw', reason: 'malformed AS_PATH' });
  });

  it('logs the next event at once after a quiet minute', () => {
    const { clock, lines } = start();
    updateError('192.0.2.2', 'attribute-discard', 1);
    clock.advance(MINUTE);
    updateError('192.0.2.2', 'attribute-discard', 2);
    updateError('192.0.2.2', 'attribute-discard', 3);
    expect(lines.map((l) => [l.prefixes, l.suppressed])).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
    clock.advance(MINUTE);
    expect(lines.map((l) => [l.prefixes, l.suppressed])).toEqual([
      [1, undefined],
      [2, undefined],
      [3, 1],
    ]);
  });

  it('limits each peer and each reason separately', () => {
    const { clock, lines } = start();
    for (let i = 0; i < 10; i++) {
      updateError('192.0.2.2', 'treat-as-withdraw', i);
      updateError('192.0.2.2', 'attribute-discard', i);
      updateError('192.0.2.3', 'treat-as-withdraw', i);
      channels.connectionRefused.publish({
        remoteAddress: '198.51.100.7',
        remotePort: 40000 + i,
        reason: 'x',
      });
      channels.connectionRefused.publish({
        remoteAddress: '198.51.100.8',
        remotePort: 40000 + i,
        reason: 'x',
      });
    }
    const firsts = lines.map((l) => [l.event, l.address ?? l.remoteAddress, l.action]);
    expect(firsts).toEqual([
      ['bgp.updateError', '192.0.2.2', 'treat-as-withdraw'],
      ['bgp.updateError', '192.0.2.2', 'attribute-discard'],
      ['bgp.updateError', '192.0.2.3', 'treat-as-withdraw'],
      ['bgp.connectionRefused', '198.51.100.7', undefined],
      ['bgp.connectionRefused', '198.51.100.8', undefined],
    ]);
    clock.advance(MINUTE);
    expect(lines.slice(5).map((l) => [l.address ?? l.remoteAddress, l.action, l.suppressed])).toEqual([
      ['192.0.2.2', 'treat-as-withdraw', 9],
      ['192.0.2.2', 'attribute-discard', 9],
      ['192.0.2.3', 'treat-as-withdraw', 9],
      ['198.51.100.7', undefined, 9],
      ['198.51.100.8', undefined, 9],
    ]);
  });

  it('keys a warning by its reason without the numbers in it', () => {
    const { clock, lines } = start();
    for (let afi = 3; afi < 8; afi++) {
      channels.warning.publish({
        address: '192.0.2.2',
        reason: `ROUTE-REFRESH for AFI ${afi} SAFI 1 (not negotiated) ignored`,
      });
    }
    channels.warning.publish({ address: '192.0.2.2', reason: 'BoRR for ipv4-unicast received' });
    clock.advance(MINUTE);
    expect(lines.map((l) => [l.reason, l.suppressed])).toEqual([
      ['ROUTE-REFRESH for AFI 3 SAFI 1 (not negotiated) ignored', undefined],
      ['BoRR for ipv4-unicast received', undefined],
      ['ROUTE-REFRESH for AFI 7 SAFI 1 (not negotiated) ignored', 4],
    ]);
  });

  it('logs every peer state change', () => {
    const { lines } = start();
    for (let i = 0; i < 20; i++) {
      channels.peerStateChanged.publish({ address: '192.0.2.2', from: 'Idle', to: 'Connect' });
    }
    expect(lines).toHaveLength(20);
    expect(lines[0]).toMatchObject({ level: 'info', event: 'bgp.peerStateChanged', to: 'Connect' });
  });

  it('bounds the keys: refusals from more addresses than it tracks share one key', () => {
    const { clock, lines, bgpLog } = start({ maxKeys: 4 });
    for (let i = 1; i <= 100; i++) {
      channels.connectionRefused.publish({ remoteAddress: `203.0.113.${i}`, remotePort: 179, reason: 'x' });
    }
    // Four tracked addresses and the first event past them log at once; the other 95 wait.
    expect(lines.map((l) => l.remoteAddress)).toEqual([
      '203.0.113.1',
      '203.0.113.2',
      '203.0.113.3',
      '203.0.113.4',
      '203.0.113.5',
    ]);
    clock.advance(MINUTE);
    expect(lines.slice(5)).toEqual([
      expect.objectContaining({ remoteAddress: '203.0.113.100', suppressed: 95, limitedPer: 'event' }),
    ]);
    const text = renderMetrics(bgpLog.families());
    expect(sample(text, 'margay_bgp_connections_refused_total')).toBe(100);
    expect(sample(text, 'margay_log_suppressed_total{event="bgp.connectionRefused"}')).toBe(95);
  });

  it('counts every event in /metrics, logged or suppressed', () => {
    const { clock, lines, bgpLog } = start();
    const empty = renderMetrics(bgpLog.families());
    expect(sample(empty, 'margay_bgp_connections_refused_total')).toBe(0);
    for (let i = 0; i < 250; i++) updateError('192.0.2.2', 'treat-as-withdraw', i);
    for (let i = 0; i < 40; i++) updateError('192.0.2.2', 'attribute-discard', i);
    for (let i = 0; i < 7; i++) updateError('2001:db8::2', 'attribute-discard', i);
    for (let i = 0; i < 30; i++) {
      channels.connectionRefused.publish({
        remoteAddress: `198.51.100.${i % 3}`,
        remotePort: 1,
        reason: 'x',
      });
    }
    for (let i = 0; i < 3; i++) {
      channels.notification.publish({
        address: '192.0.2.2',
        direction: 'sent',
        code: 3,
        subcode: 11,
        name: 'n',
      });
    }
    channels.notification.publish({
      address: '192.0.2.2',
      direction: 'received',
      code: 6,
      subcode: 2,
      name: 'n',
    });
    for (let i = 0; i < 5; i++) channels.warning.publish({ address: '192.0.2.3', reason: 'BoRR received' });
    clock.advance(MINUTE);
    const text = renderMetrics(bgpLog.families());
    const expected: Record<string, number> = {
      'margay_bgp_update_errors_total{peer="192.0.2.2",action="treat-as-withdraw"}': 250,
      'margay_bgp_update_errors_total{peer="192.0.2.2",action="attribute-discard"}': 40,
      'margay_bgp_update_errors_total{peer="2001:db8::2",action="attribute-discard"}': 7,
      margay_bgp_connections_refused_total: 30,
      'margay_bgp_notifications_total{peer="192.0.2.2",direction="sent"}': 3,
      'margay_bgp_notifications_total{peer="192.0.2.2",direction="received"}': 1,
      'margay_bgp_warnings_total{peer="192.0.2.3"}': 5,
      // Logged at once: one per (peer, action), per address, per notification, per warning.
      'margay_log_suppressed_total{event="bgp.updateError"}': 249 + 39 + 6,
      'margay_log_suppressed_total{event="bgp.connectionRefused"}': 27,
      'margay_log_suppressed_total{event="bgp.notification"}': 2,
      'margay_log_suppressed_total{event="bgp.warning"}': 4,
    };
    for (const [series, value] of Object.entries(expected)) expect(sample(text, series), series).toBe(value);
    expect(text).toContain('# TYPE margay_bgp_update_errors_total counter');
    // No series names a refused address.
    expect(text).not.toMatch(/198\.51\.100/);
    // Every event is either its own line or counted in a summary.
    const logged = lines.length;
    const suppressedInLines = lines.reduce((n, l) => n + (Number(l.suppressed) || 0), 0);
    const summaries = lines.filter((l) => l.suppressed !== undefined).length;
    expect(logged - summaries + suppressedInLines).toBe(250 + 40 + 7 + 30 + 4 + 5);
  });

  it('writes pending summaries on close and stops listening', () => {
    const { clock, lines, bgpLog } = start();
    for (let i = 0; i < 5; i++) updateError('192.0.2.2', 'treat-as-withdraw', i);
    bgpLog.close();
    expect(lines.map((l) => l.suppressed)).toEqual([undefined, 4]);
    expect(clock.pendingCount).toBe(0);
    updateError('192.0.2.2', 'treat-as-withdraw', 9);
    expect(lines).toHaveLength(2);
    expect(
      sample(
        renderMetrics(bgpLog.families()),
        'margay_bgp_update_errors_total{peer="192.0.2.2",action="treat-as-withdraw"}',
      ),
    ).toBe(5);
  });
});
