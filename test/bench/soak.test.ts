// The soak benchmark's arithmetic: the p99 read from the speaker's own /metrics rendering, and the
// RSS slope that tells a leak from a plateau.
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/api/metrics.ts';
import { metricValue, slope } from './soak.ts';

describe('metricValue', () => {
  const text = renderMetrics([
    {
      name: 'margay_event_loop_delay_seconds',
      help: 'Event-loop delay.',
      type: 'summary',
      samples: [
        { labels: { quantile: '0.9' }, value: 0.004 },
        { labels: { quantile: '0.99' }, value: 0.0153 },
        { labels: { quantile: '1' }, value: 0.2 },
      ],
    },
    { name: 'margay_process_resident_memory_bytes', help: 'RSS.', type: 'gauge', samples: [{ value: 1e8 }] },
  ]);

  it('reads the series with exactly the given labels', () => {
    expect(metricValue(text, 'margay_event_loop_delay_seconds{quantile="0.99"}')).toBe(0.0153);
    expect(metricValue(text, 'margay_event_loop_delay_seconds{quantile="0.9"}')).toBe(0.004);
    expect(metricValue(text, 'margay_process_resident_memory_bytes')).toBe(1e8);
  });

  it('is undefined for a series that is not there', () => {
    expect(metricValue(text, 'margay_event_loop_delay_seconds{quantile="0.5"}')).toBeUndefined();
    expect(metricValue(text, 'margay_event_loop_delay_seconds')).toBeUndefined();
  });
});

describe('slope', () => {
  it('is the growth per unit of a steady rise, whatever the noise around it', () => {
    const points = [0, 1, 2, 3, 4, 5].map((x) => ({ x, y: 100 + 2 * x + (x % 2 === 0 ? 0.5 : -0.5) }));
    expect(slope(points)).toBeCloseTo(2 - 1.5 / 17.5, 10);
  });

  it('is zero on a plateau and undefined without two distinct times', () => {
    expect(slope([0, 1, 2].map((x) => ({ x, y: 164 })))).toBe(0);
    expect(slope([{ x: 1, y: 5 }])).toBeNaN();
    expect(
      slope([
        { x: 1, y: 5 },
        { x: 1, y: 6 },
      ]),
    ).toBeNaN();
  });
});
