// The ingest benchmark's statistics: medians over rounds, and ratios paired within a round.
import { describe, expect, it } from 'vitest';
import { combineRounds, pairedRatio, type ReceiverResult, summarise } from './ingest.ts';

const run = (seconds: number, extra: Partial<ReceiverResult> = {}): ReceiverResult => ({
  seconds,
  peakRssMb: 100,
  bytesPerPrefix: 50,
  baselineRssMb: 40,
  cpuSeconds: seconds,
  mainThreadCpuSeconds: seconds,
  senderSeconds: 0.05,
  polls: 10,
  resolutionMs: 3,
  settleMs: 600,
  settled: 1,
  pollMethod: 'test',
  ...extra,
});

describe('bgp-ingest rounds', () => {
  it('takes the median of every numeric figure and keeps the text ones', () => {
    const r = combineRounds([run(0.5, { polls: 9 }), run(0.3, { polls: 30 }), run(0.4, { polls: 12 })]);
    expect(r.median.seconds).toBe(0.4);
    expect(r.median.polls).toBe(12);
    expect(r.median.pollMethod).toBe('test');
    expect(r.runs).toHaveLength(3);
  });

  it('pairs the ratio within each round: a machine slow in one round shows in both sides', () => {
    // Round 2 ran on a slow machine for both. Within rounds: 1.29, 1.06, 1.5 → median 1.29; the
    // ratio of the medians (0.45 / 0.30) is 1.5.
    const margay = combineRounds([run(0.31), run(0.5), run(0.45)]);
    const bird = combineRounds([run(0.24), run(0.47), run(0.3)]);
    expect(pairedRatio(margay, bird, 'seconds')).toEqual({ paired: 1.292, ofMedians: 1.5 });
    expect(pairedRatio(undefined, bird, 'seconds')).toBeNull();
  });

  it('judges the targets on paired ratios and the worst round’s event-loop delay', () => {
    const s = summarise({
      margay: combineRounds([
        run(0.36, { p99EventLoopDelayMs: 20 }),
        run(0.72, { p99EventLoopDelayMs: 55 }),
        run(0.48, { p99EventLoopDelayMs: 20 }),
      ]),
      bird: combineRounds([run(0.3), run(0.6), run(0.4)]),
      gobgp: { error: 'round 1: no Established session' },
    });
    expect(s.ratios.margayVsBird).toBe(1.2);
    expect(s.targets.within1_5xOfBird).toBe('pass');
    expect(s.targets.fasterThanGobgp).toBe('n/a');
    expect(s.worstP99EventLoopDelayMs).toBe(55);
    expect(s.targets.p99EventLoopDelayUnder50ms).toBe('fail');
  });
});
