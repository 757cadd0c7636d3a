// A short seeded fuzz campaign against the real `margay speaker` (test/fuzz): malformed OPENs and
// UPDATEs from an external and an internal raw peer in network namespaces, each checked against
// the RFC 4271 / RFC 7606 oracle, then a clean final set of routes that must be all the RIB holds.
// The seed is fixed, so a failure here replays with
// `npm run fuzz -- --seed 7606 --minutes 0.5 --cases 4000` (the summary names each disagreeing case,
// which `--from K --cases 1` replays alone); `npm run fuzz -- --minutes N` runs longer campaigns.
import { describe, expect, test } from 'vitest';
import { failures, runCampaign } from '../fuzz/campaign.ts';

const SEED = 7606;

describe('BGP fuzzing: margay speaker against raw peers (seeded)', () => {
  test('no crash, hang, MUST-level oracle disagreement, malformed UPDATE or leftover route', async () => {
    const summary = await runCampaign({ seed: SEED, durationMs: 30_000, cases: 4_000 });
    const report = JSON.stringify(
      {
        ...summary,
        disagreements: { ...summary.disagreements, list: summary.disagreements.list.slice(0, 20) },
      },
      null,
      2,
    );
    expect(failures(summary), report).toEqual([]);
    // The campaign did fuzz: both kinds of messages, resets and treat-as-withdraw among the outcomes.
    expect(summary.cases.update, report).toBeGreaterThan(200);
    expect(summary.cases.open, report).toBeGreaterThan(5);
    expect(Object.keys(summary.resets).length, report).toBeGreaterThan(3);
    expect(summary.treatAsWithdraw, report).toBeGreaterThan(20);
    expect(summary.speaker.peakRssMiB, report).toBeGreaterThan(0);
  }, 240_000);
});
