// The soak benchmark's arithmetic: the p99 read from the speaker's own /metrics rendering, the
// worst p99 of the churn without the start-up's, the RSS slope that tells a leak from a plateau,
// and the memory limit it takes from the chart.
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/api/metrics.ts';
import { quantityBytes } from '../support/cgroup.ts';
import { chartMemoryLimit, metricValue, slope, worstChurnP99 } from './soak.ts';

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

describe('worstChurnP99', () => {
  it("leaves out the first sample, taken as the churn starts, whose p99 is the start-up's", () => {
    expect(worstChurnP99([19.1, 12.8, 15.1, 14.2])).toBe(15.1);
  });

  it('skips samples without a p99, and is undefined when no sample of the churn has one', () => {
    expect(worstChurnP99([19.1, undefined, 13.5, undefined])).toBe(13.5);
    expect(worstChurnP99([19.1, undefined])).toBeUndefined();
    expect(worstChurnP99([19.1])).toBeUndefined();
  });
});

describe('chartMemoryLimit', () => {
  it('reads resources.limits.memory as Kubernetes does, binary and decimal units', () => {
    expect(chartMemoryLimit('resources:\n  limits:\n    memory: 320Mi\n')).toBe(320 * 1024 * 1024);
    expect(chartMemoryLimit('resources:\n  limits: { memory: 1Gi, cpu: "1" }\n')).toBe(1024 ** 3);
    expect(chartMemoryLimit('resources:\n  limits: { memory: 500M }\n')).toBe(500_000_000);
    expect(chartMemoryLimit('resources:\n  limits: { memory: 268435456 }\n')).toBe(268_435_456);
  });

  it('is undefined when the chart sets no memory limit', () => {
    expect(chartMemoryLimit('resources:\n  limits: {}\n')).toBeUndefined();
    expect(chartMemoryLimit('image: {}\n')).toBeUndefined();
  });

  it('refuses what is not a memory quantity', () => {
    expect(() => quantityBytes('256MB')).toThrow(/not a memory quantity/);
    expect(() => quantityBytes('-1Mi')).toThrow(/not a memory quantity/);
  });
});
