// Export rules (RFC 4271 §9.1.3 and §5.1, RFC 4456 §6/§8, RFC 1997), observed through the
// Adj-RIB-Out contents after draining, as the speaker would see them.
import { describe, expect, it } from 'vitest';
import { prependAs, WellKnownBit } from '../../../../bgp/rib/index.ts';
import { WellKnownCommunity } from '../../../../bgp/wire/types.ts';
import { advertisedTo, announce, drain, LOCAL_AS, makeRib, type PeerSpec, seq, set } from './helpers.ts';

const P = '10.1.0.0/24';
const C1: PeerSpec = { id: '10.0.0.1', routeReflectorClient: true };
const C2: PeerSpec = { id: '10.0.0.2', routeReflectorClient: true };
const N1: PeerSpec = { id: '10.0.0.3' };
const N2: PeerSpec = { id: '10.0.0.4' };
const E1: PeerSpec = { id: '192.0.2.1', asn: 65001 };
const E2: PeerSpec = { id: '192.0.2.2', asn: 65002 };

const receivers = (rib: ReturnType<typeof makeRib>['rib'], ids: readonly string[]) =>
  ids.filter((id) => advertisedTo(rib, id).has(P)).sort();

describe('iBGP split horizon and route reflection matrix', () => {
  it('without clients, iBGP-learned routes go to eBGP peers only', () => {
    const { rib } = makeRib([N1, N2, E1]);
    rib.applyUpdate(N1.id, announce({ prefixes: [P] }));
    expect(receivers(rib, [N1.id, N2.id, E1.id])).toEqual([E1.id]);
  });

  const all = [C1, C2, N1, N2, E1, E2];
  const ids = all.map((p) => p.id);
  const cases: [string, PeerSpec, string[]][] = [
    ['client → clients, non-clients and eBGP', C1, [C2.id, N1.id, N2.id, E1.id, E2.id]],
    ['non-client → clients and eBGP only', N1, [C1.id, C2.id, E1.id, E2.id]],
    ['eBGP → everyone else', E1, [C1.id, C2.id, N1.id, N2.id, E2.id]],
  ];
  for (const [name, from, expected] of cases) {
    it(`reflects ${name} (RFC 4456 §6), never back to the sender`, () => {
      const { rib } = makeRib(all);
      const asPath = from.asn === undefined ? [] : [seq(from.asn)];
      rib.applyUpdate(from.id, announce({ prefixes: [P], attrs: { asPath } }));
      expect(receivers(rib, ids)).toEqual([...expected].sort());
    });
  }

  it('reflection sets ORIGINATOR_ID once and prepends our CLUSTER_ID (RFC 4456 §8)', () => {
    const { rib } = makeRib([{ ...C1, bgpId: '1.1.1.1' }, C2, N1], { clusterId: '9.9.9.9' });
    rib.applyUpdate(C1.id, announce({ prefixes: [P, '10.2.0.0/24'], nextHop: '10.0.0.1' }));
    const out = advertisedTo(rib, C2.id);
    expect(out.get(P)).toMatchObject({
      originatorId: '1.1.1.1',
      clusterList: ['9.9.9.9'],
      nextHop: '10.0.0.1',
    });
    rib.applyUpdate(
      C1.id,
      announce({
        prefixes: [P],
        attrs: { originatorId: '5.5.5.5', clusterList: ['8.8.8.8'] },
        nextHop: '10.0.0.1',
      }),
    );
    expect(advertisedTo(rib, N1.id).get(P)).toMatchObject({
      originatorId: '5.5.5.5',
      clusterList: ['9.9.9.9', '8.8.8.8'],
    });
  });

  it('eBGP-learned routes sent to iBGP carry no ORIGINATOR_ID / CLUSTER_LIST', () => {
    const { rib } = makeRib([C1, E1]);
    rib.applyUpdate(
      E1.id,
      announce({ prefixes: [P], attrs: { asPath: [seq(65001)], originatorId: '7.7.7.7' } }),
    );
    const got = advertisedTo(rib, C1.id).get(P);
    expect(got?.originatorId).toBeUndefined();
    expect(got?.clusterList).toBeUndefined();
  });
});

describe('eBGP export', () => {
  it('prepends our AS, sets next hop self, strips LOCAL_PREF, learned MED, ORIGINATOR_ID and CLUSTER_LIST', () => {
    const { rib } = makeRib([C1, E1]);
    rib.applyUpdate(
      C1.id,
      announce({
        prefixes: [P],
        nextHop: '10.0.0.1',
        attrs: {
          asPath: [seq(65009)],
          localPref: 300,
          med: 40,
          originatorId: '3.3.3.3',
          clusterList: ['4.4.4.4'],
          communities: [0x00010002],
          extendedCommunities: [0x0002fde800000001n, 0x4300000000000001n],
        },
      }),
    );
    const got = advertisedTo(rib, E1.id).get(P);
    expect(got).toEqual({
      origin: 0,
      asPath: [seq(LOCAL_AS, 65009)],
      communities: [0x00010002],
      // RFC 4360: the non-transitive (0x43 type) extended community stays inside.
      extendedCommunities: [0x0002fde800000001n],
      nextHop: '192.0.2.254',
    });
  });

  it('keeps the MED of a local route and opens a new segment before an AS_SET', () => {
    const { rib } = makeRib([E1, E2]);
    rib.setLocalRoutes([{ prefix: '10.244.0.0/24', med: 10, localPref: 500 }]);
    rib.applyUpdate(E1.id, announce({ prefixes: [P], attrs: { asPath: [set(65001, 65003)] } }));
    const out = advertisedTo(rib, E2.id);
    expect(out.get('10.244.0.0/24')).toEqual({
      origin: 0,
      asPath: [seq(LOCAL_AS)],
      med: 10,
      nextHop: '192.0.2.254',
    });
    expect(out.get(P)?.asPath).toEqual([seq(LOCAL_AS), set(65001, 65003)]);
  });

  it('uses the session-local AS and the IPv6 session address for IPv6 routes', () => {
    const { rib } = makeRib([{ ...E1, localAsn: 64999 }, N1]);
    rib.applyUpdate(N1.id, announce({ prefixes: ['2001:db8:1::/48'], nextHop: '2001:db8::3' }));
    expect(advertisedTo(rib, E1.id, 'ipv6-unicast').get('2001:db8:1::/48')).toMatchObject({
      asPath: [seq(64999)],
      nextHop: '2001:db8::fe',
    });
  });

  it('sends nothing that needs "self" when the session has no address in that family', () => {
    const { rib } = makeRib([{ ...E1, localAddressV6: undefined }, N1]);
    rib.applyUpdate(N1.id, announce({ prefixes: ['2001:db8:1::/48'], nextHop: '2001:db8::3' }));
    expect(advertisedTo(rib, E1.id, 'ipv6-unicast').size).toBe(0);
  });
});

describe('iBGP export', () => {
  it('keeps the learned next hop unless nextHopSelf; sets LOCAL_PREF (default 100)', () => {
    const { rib } = makeRib([E1, N1, { ...N2, nextHopSelf: true }]);
    rib.applyUpdate(
      E1.id,
      announce({ prefixes: [P], nextHop: '192.0.2.1', attrs: { asPath: [seq(65001)], med: 7 } }),
    );
    expect(advertisedTo(rib, N1.id).get(P)).toEqual({
      origin: 0,
      asPath: [seq(65001)],
      med: 7,
      localPref: 100,
      nextHop: '192.0.2.1',
    });
    expect(advertisedTo(rib, N2.id).get(P)?.nextHop).toBe('192.0.2.254');
  });

  it('local routes get our address unless they name a next hop', () => {
    const { rib } = makeRib([N1]);
    rib.setLocalRoutes([
      { prefix: '10.244.1.0/24', localPref: 200, communities: [5] },
      { prefix: '10.244.2.0/24', nextHop: '192.0.2.77' },
    ]);
    const out = advertisedTo(rib, N1.id);
    expect(out.get('10.244.1.0/24')).toEqual({
      origin: 0,
      asPath: [],
      localPref: 200,
      communities: [5],
      nextHop: '192.0.2.254',
    });
    expect(out.get('10.244.2.0/24')?.nextHop).toBe('192.0.2.77');
  });
});

describe("export policy 'local' (a node's own routes to an external router, Calico)", () => {
  const TOR: PeerSpec = { id: '192.0.2.100', asn: 65100, exportPolicy: 'local' };
  const OWN = '10.244.1.0/24';
  const MESH = '10.244.2.0/24';

  it('sends only locally originated routes; other peers still get everything the rules allow', () => {
    const { rib } = makeRib([N1, E1, TOR]);
    rib.setLocalRoutes([{ prefix: OWN }]);
    rib.applyUpdate(N1.id, announce({ prefixes: [MESH], nextHop: '10.0.0.3' }));
    rib.applyUpdate(E1.id, announce({ prefixes: [P], attrs: { asPath: [seq(65001)] } }));
    expect([...advertisedTo(rib, TOR.id).keys()]).toEqual([OWN]);
    // Still eBGP export rules for what is sent: our AS, next hop self.
    expect(advertisedTo(rib, TOR.id).get(OWN)).toMatchObject({
      asPath: [seq(LOCAL_AS)],
      nextHop: '192.0.2.254',
    });
    // A policy-less eBGP peer gets the mesh route too (P it sent itself).
    expect([...advertisedTo(rib, E1.id).keys()].sort()).toEqual([OWN, MESH]);
  });

  it('withdraws a prefix from the peer once its best path is no longer ours', () => {
    const { rib } = makeRib([N1, TOR]);
    rib.setLocalRoutes([{ prefix: OWN }]);
    rib.applyUpdate(N1.id, announce({ prefixes: [OWN], nextHop: '10.0.0.3' }));
    expect([...advertisedTo(rib, TOR.id).keys()]).toEqual([OWN]);
    // The block moved to another node: the learned path is now best, the ToR hears a withdraw.
    rib.setLocalRoutes([]);
    expect(drain(rib, TOR.id).flatMap((b) => b.withdrawn.toArray())).toEqual([OWN]);
    expect(advertisedTo(rib, TOR.id).size).toBe(0);
  });

  it('route reflection to clients is unchanged next to a local-only peer (RFC 4456 §6)', () => {
    const { rib } = makeRib([C1, C2, { ...TOR, asn: LOCAL_AS }]);
    rib.applyUpdate(C1.id, announce({ prefixes: [P], nextHop: '10.0.0.1' }));
    expect(advertisedTo(rib, C2.id).get(P)).toMatchObject({ clusterList: [expect.any(String)] });
    expect(advertisedTo(rib, TOR.id).size).toBe(0);
  });
});

describe('well-known communities (RFC 1997)', () => {
  const cases: [string, number, string[]][] = [
    ['NO_ADVERTISE: to no peer', WellKnownCommunity.noAdvertise, []],
    ['NO_EXPORT: not to eBGP', WellKnownCommunity.noExport, [C1.id]],
    ['NO_EXPORT_SUBCONFED: not to eBGP', WellKnownCommunity.noExportSubconfed, [C1.id]],
  ];
  for (const [name, community, expected] of cases) {
    it(name, () => {
      const { rib } = makeRib([C1, E1, E2]);
      rib.applyUpdate(
        E2.id,
        announce({ prefixes: [P], attrs: { asPath: [seq(65002)], communities: [community] } }),
      );
      expect(receivers(rib, [C1.id, E1.id])).toEqual(expected);
      expect(rib.getDest(P)?.best?.attrs.wellKnown).not.toBe(0);
    });
  }

  it('flags are computed once per attribute set', () => {
    const { rib } = makeRib([C1]);
    rib.applyUpdate(
      C1.id,
      announce({ prefixes: [P], attrs: { communities: [WellKnownCommunity.noExport, 7] } }),
    );
    expect(rib.getDest(P)?.best?.attrs.wellKnown).toBe(WellKnownBit.noExport);
  });
});

describe('prependAs', () => {
  it('extends a leading sequence, opens one before a set or a full segment, drops confed segments', () => {
    expect(prependAs([seq(2, 3)], 1)).toEqual([seq(1, 2, 3)]);
    expect(prependAs(undefined, 1)).toEqual([seq(1)]);
    expect(prependAs([set(2)], 1)).toEqual([seq(1), set(2)]);
    expect(prependAs([{ type: 3, asns: [9] }, seq(2)], 1)).toEqual([seq(1, 2)]);
    const full = seq(...Array.from({ length: 255 }, (_, i) => i + 1));
    expect(prependAs([full], 7)).toEqual([seq(7), full]);
  });

  it('never mutates the input', () => {
    const input = [seq(2, 3)];
    prependAs(input, 1);
    expect(input).toEqual([seq(2, 3)]);
  });
});
