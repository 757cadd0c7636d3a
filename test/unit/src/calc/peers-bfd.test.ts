// BGPPeer spec.bfd: the model's ranges, and the calculation handing it to the speaker's peers,
// for a router (peerIP) and for selected nodes (peerSelector).
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { bgpPeerSchema } from '../../../../src/model/bgp.ts';
import { bgpConfig, bgpPeer, flatNodes, snap } from './fixtures.ts';

describe('BGPPeer bfd', () => {
  it('reaches the peer of a router and of selected nodes', () => {
    const st = calculate(
      snap(
        ...flatNodes(3),
        bgpConfig({ nodeToNodeMeshEnabled: false }),
        bgpPeer('tor', {
          peerIP: '192.0.2.1',
          asNumber: 65000,
          bfd: { minRxMs: 100, minTxMs: 100, multiplier: 3 },
        }),
        bgpPeer('nodes', { peerSelector: 'all()', bfd: {} }),
      ),
      { name: 'node-1' },
    );
    expect(st.problems).toEqual([]);
    const byAddress = Object.fromEntries(st.peers.map((p) => [p.address, p.bfd]));
    expect(byAddress).toEqual({
      '192.0.2.1': { minRxMs: 100, minTxMs: 100, multiplier: 3 },
      '192.0.2.12': {},
      '192.0.2.13': {},
    });
  });

  it('is absent unless set', () => {
    const st = calculate(snap(...flatNodes(1), bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 })), {
      name: 'node-1',
    });
    expect(st.peers[0]).not.toHaveProperty('bfd');
  });

  it('takes intervals of 10..60000 ms and a multiplier of 1..255, naming the field', () => {
    const peer = (bfd: unknown) =>
      bgpPeerSchema.safeParse({
        apiVersion: 'margay.io/v1',
        kind: 'BGPPeer',
        metadata: { name: 'tor' },
        spec: { peerIP: '192.0.2.1', asNumber: 65000, bfd },
      });
    expect(peer({ minRxMs: 10, minTxMs: 60_000, multiplier: 255 }).success).toBe(true);
    for (const [bad, field] of [
      [{ minRxMs: 9 }, 'minRxMs'],
      [{ minTxMs: 60_001 }, 'minTxMs'],
      [{ multiplier: 0 }, 'multiplier'],
      [{ multiplier: 1.5 }, 'multiplier'],
      [{ detectMult: 3 }, undefined],
    ] as const) {
      const r = peer(bad);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path.slice(0, 2)).toEqual(['spec', 'bfd']);
      if (field !== undefined) expect(r.error?.issues[0]?.path[2]).toBe(field);
    }
  });
});
