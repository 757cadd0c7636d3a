// ADD-PATH (RFC 7911) on the agent's sessions: a route reflector sends its clients every path,
// a client receives them, two reflectors do both; the mesh and routers are left alone, except a
// router we reflect to, which is offered 'send'.
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { bgpConfig, bgpPeer, flatNodes, reflectorCluster, snap, twoClusterReflectors } from './fixtures.ts';

describe('addPaths between route reflectors and their clients', () => {
  const s = snap(
    ...reflectorCluster(4),
    bgpPeer('tor', { peerIP: '192.0.2.254', asNumber: 64512, routeReflectorClient: true }),
  );

  it('a client receives from both reflectors', () => {
    const st = calculate(s, { name: 'node-4' });
    expect(st.peers.filter((p) => p.peerType === 'route reflector').map((p) => p.addPaths)).toEqual([
      'receive',
      'receive',
    ]);
  });

  it('a reflector sends to its clients, does both with the other reflector, offers send to a router client', () => {
    const st = calculate(s, { name: 'node-1' });
    expect(st.peers.map((p) => [p.address, p.peerType, p.addPaths])).toEqual([
      ['192.0.2.12', 'route reflector', 'both'],
      ['192.0.2.13', 'route reflector client', 'send'],
      ['192.0.2.14', 'route reflector client', 'send'],
      ['192.0.2.254', 'global', 'send'],
    ]);
  });

  it('reflectors of different clusters (each the other’s client) do both', () => {
    const st = calculate(twoClusterReflectors(), { name: 'rr-a' });
    expect(st.peers.map((p) => p.addPaths)).toEqual(['both']);
  });

  it('the node-to-node mesh and plain routers get no ADD-PATH', () => {
    const st = calculate(
      snap(...flatNodes(3), bgpConfig({}), bgpPeer('tor', { peerIP: '192.0.2.254', asNumber: 64999 })),
      { name: 'node-1' },
    );
    expect(st.peers.length).toBeGreaterThan(0);
    expect(st.peers.every((p) => p.addPaths === undefined)).toBe(true);
  });
});
