// The start-up warm-up (bgp/speaker/warm-up.ts) takes its prefixes through the real codec and RIB:
// if an encoding, decoding or RIB step dropped them, it would optimise nothing — and say so here.
import { describe, expect, it } from 'vitest';
import { warmUp } from '../../../../bgp/speaker/warm-up.ts';

describe('warmUp', () => {
  it('learns, exports and withdraws every prefix of both families, and keeps nothing', () => {
    const n = 3000;
    const r = warmUp({ prefixes: n });
    // Per family: n learned from the first peer and exported to the second. The first peer then
    // withdraws all n: each is withdrawn from the second peer (for the 800 of the block it also
    // announced, its own path is now the best, which is not sent back to it), and those 800 are
    // exported to the first peer. Then the small-UPDATE phase: 1500 IPv4 and 500 IPv6 UPDATEs
    // of 4 prefixes each, learned, exported to the second peer and withdrawn.
    const small = (1500 + 500) * 4;
    expect(r).toMatchObject({
      learned: 2 * n + small,
      exported: 2 * (n + 800) + small,
      withdrawn: 2 * n + small,
      left: 0,
    });
    expect(r.ms).toBeGreaterThan(0);
  });
});
