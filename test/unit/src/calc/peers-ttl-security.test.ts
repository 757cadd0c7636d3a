// BGPPeer spec.ttlSecurity (Calico's field): the model's range, and the calculation handing it to
// the speaker's peers, for a router (peerIP) and for selected nodes (peerSelector).
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { bgpPeerSchema } from '../../../../src/model/bgp.ts';
import { bgpConfig, bgpPeer, flatNodes, snap } from './fixtures.ts';

describe('BGPPeer ttlSecurity', () => {
  it('reaches the peer of a router and of selected nodes', () => {
    const st = calculate(
      snap(
        ...flatNodes(3),
        bgpConfig({ nodeToNodeMeshEnabled: false }),
        bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, ttlSecurity: 1 }),
        bgpPeer('nodes', { peerSelector: 'all()', ttlSecurity: 2 }),
      ),
      { name: 'node-1' },
    );
    expect(st.problems).toEqual([]);
    const byAddress = Object.fromEntries(st.peers.map((p) => [p.address, p.ttlSecurity]));
    expect(byAddress).toEqual({ '192.0.2.1': 1, '192.0.2.12': 2, '192.0.2.13': 2 });
  });

  it('is absent unless set', () => {
    const st = calculate(snap(...flatNodes(1), bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 })), {
      name: 'node-1',
    });
    expect(st.peers[0]).not.toHaveProperty('ttlSecurity');
  });

  it('takes 1..254 hops', () => {
    const peer = (ttlSecurity: unknown) =>
      bgpPeerSchema.safeParse({
        apiVersion: 'margay.io/v1',
        kind: 'BGPPeer',
        metadata: { name: 'tor' },
        spec: { peerIP: '192.0.2.1', asNumber: 65000, ttlSecurity },
      });
    expect(peer(254).success).toBe(true);
    for (const bad of [0, 255, 1.5, '1']) {
      const r = peer(bad);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['spec', 'ttlSecurity']);
    }
  });
});
