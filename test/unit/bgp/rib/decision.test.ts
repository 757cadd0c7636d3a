// The decision process, one test per RFC 4271 §9.1.2.2 / RFC 4456 §9 step where it decides,
// the MED group rule (and its non-transitivity trap), and ECMP set formation.
import { describe, expect, it } from 'vitest';
import { announce, bestOf, LOCAL_AS, makeRib, type PeerSpec, seq, set } from './helpers.ts';

const P = '10.1.0.0/24';
const ibgp = (id: string, extra: Partial<PeerSpec> = {}): PeerSpec => ({ id, ...extra });
const ebgp = (id: string, asn: number, extra: Partial<PeerSpec> = {}): PeerSpec => ({ id, asn, ...extra });

describe('decision process steps', () => {
  it('a single eligible path wins as only-path', () => {
    const { rib } = makeRib([ebgp('192.0.2.1', 65001)]);
    rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { asPath: [seq(65001)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '192.0.2.1', reason: 'only-path' });
  });

  it('highest LOCAL_PREF wins (local-pref)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1'), ibgp('10.0.0.2')]);
    rib.applyUpdate('10.0.0.1', announce({ prefixes: [P], attrs: { localPref: 100 } }));
    rib.applyUpdate(
      '10.0.0.2',
      announce({ prefixes: [P], attrs: { localPref: 200, asPath: [seq(1, 2, 3)] } }),
    );
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.2', reason: 'local-pref' });
  });

  it('LOCAL_PREF received over eBGP is ignored and 100 used (RFC 4271 §5.1.5)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1'), ebgp('192.0.2.1', 65001)]);
    rib.applyUpdate(
      '192.0.2.1',
      announce({ prefixes: [P], attrs: { localPref: 500, asPath: [seq(65001)] } }),
    );
    rib.applyUpdate('10.0.0.1', announce({ prefixes: [P], attrs: { localPref: 150, asPath: [seq(65009)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.1', reason: 'local-pref' });
  });

  it('a missing LOCAL_PREF on iBGP counts as 100', () => {
    const { rib } = makeRib([ibgp('10.0.0.1'), ibgp('10.0.0.2')]);
    rib.applyUpdate('10.0.0.1', announce({ prefixes: [P], attrs: { localPref: 99 } }));
    rib.applyUpdate('10.0.0.2', announce({ prefixes: [P], attrs: { asPath: [seq(1, 2)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.2', reason: 'local-pref' });
  });

  it('a locally originated route beats every learned route (local-route)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1')]);
    rib.applyUpdate('10.0.0.1', announce({ prefixes: [P], attrs: { localPref: 1000 } }));
    rib.setLocalRoutes([{ prefix: P }]);
    expect(bestOf(rib, P)).toEqual({ from: null, reason: 'local-route' });
    rib.setLocalRoutes([]);
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.1', reason: 'only-path' });
  });

  it('shortest AS_PATH wins; an AS_SET counts 1 (as-path-length)', () => {
    const { rib } = makeRib([ebgp('192.0.2.1', 65001), ebgp('192.0.2.2', 65002)]);
    // 2 + 1 (the set) = 3 against 4.
    rib.applyUpdate(
      '192.0.2.1',
      announce({ prefixes: [P], attrs: { asPath: [seq(65001, 7), set(8, 9, 10)] } }),
    );
    rib.applyUpdate('192.0.2.2', announce({ prefixes: [P], attrs: { asPath: [seq(65002, 7, 8, 9)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '192.0.2.1', reason: 'as-path-length' });
  });

  it('confederation segments do not count towards AS_PATH length (RFC 5065 §5.3)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1'), ibgp('10.0.0.2')]);
    rib.applyUpdate(
      '10.0.0.1',
      announce({ prefixes: [P], attrs: { asPath: [{ type: 3, asns: [1, 2, 3] }, seq(7)] } }),
    );
    rib.applyUpdate('10.0.0.2', announce({ prefixes: [P], attrs: { asPath: [seq(7, 8)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.1', reason: 'as-path-length' });
  });

  it('lowest ORIGIN wins (origin)', () => {
    const { rib } = makeRib([ebgp('192.0.2.1', 65001), ebgp('192.0.2.2', 65002)]);
    rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { origin: 2, asPath: [seq(65001)] } }));
    rib.applyUpdate('192.0.2.2', announce({ prefixes: [P], attrs: { origin: 1, asPath: [seq(65002)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '192.0.2.2', reason: 'origin' });
  });

  it('lowest MED wins among paths from the same neighbour AS (med)', () => {
    const { rib } = makeRib([
      ebgp('192.0.2.1', 65001, { bgpId: '1.1.1.1' }),
      ebgp('192.0.2.2', 65001, { bgpId: '2.2.2.2' }),
    ]);
    rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { med: 50, asPath: [seq(65001)] } }));
    rib.applyUpdate('192.0.2.2', announce({ prefixes: [P], attrs: { med: 10, asPath: [seq(65001)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '192.0.2.2', reason: 'med' });
  });

  it('a missing MED is 0, the best possible (RFC 4271 §9.1.2.2 (c))', () => {
    const { rib } = makeRib([
      ebgp('192.0.2.1', 65001, { bgpId: '1.1.1.1' }),
      ebgp('192.0.2.2', 65001, { bgpId: '2.2.2.2' }),
    ]);
    rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { med: 1, asPath: [seq(65001)] } }));
    rib.applyUpdate('192.0.2.2', announce({ prefixes: [P], attrs: { asPath: [seq(65001)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '192.0.2.2', reason: 'med' });
  });

  it('MED is not compared across neighbour ASes unless alwaysCompareMed', () => {
    const peers = [
      ebgp('192.0.2.1', 65001, { bgpId: '1.1.1.1' }),
      ebgp('192.0.2.2', 65002, { bgpId: '2.2.2.2' }),
    ];
    for (const alwaysCompareMed of [false, true]) {
      const { rib } = makeRib(peers, { alwaysCompareMed });
      rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { med: 50, asPath: [seq(65001)] } }));
      rib.applyUpdate('192.0.2.2', announce({ prefixes: [P], attrs: { med: 10, asPath: [seq(65002)] } }));
      expect(bestOf(rib, P)).toEqual(
        alwaysCompareMed ? { from: '192.0.2.2', reason: 'med' } : { from: '192.0.2.1', reason: 'router-id' },
      );
    }
  });

  it('MED of iBGP routes originated in our AS is compared among them (neighbour AS = local AS)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1', { bgpId: '1.1.1.1' }), ibgp('10.0.0.2', { bgpId: '2.2.2.2' })]);
    rib.applyUpdate('10.0.0.1', announce({ prefixes: [P], attrs: { med: 20 } }));
    rib.applyUpdate('10.0.0.2', announce({ prefixes: [P], attrs: { med: 5 } }));
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.2', reason: 'med' });
  });

  it('eBGP beats iBGP (ebgp-over-ibgp)', () => {
    const { rib } = makeRib([
      ibgp('10.0.0.1', { bgpId: '1.1.1.1' }),
      ebgp('192.0.2.9', 65009, { bgpId: '9.9.9.9' }),
    ]);
    rib.applyUpdate('10.0.0.1', announce({ prefixes: [P], attrs: { asPath: [seq(65009)] } }));
    rib.applyUpdate('192.0.2.9', announce({ prefixes: [P], attrs: { asPath: [seq(65009)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '192.0.2.9', reason: 'ebgp-over-ibgp' });
  });

  it('shorter CLUSTER_LIST wins (RFC 4456 §9, cluster-list-length)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1', { bgpId: '1.1.1.1' }), ibgp('10.0.0.2', { bgpId: '2.2.2.2' })]);
    const base = { asPath: [seq(65009)], originatorId: '10.9.9.9' };
    rib.applyUpdate(
      '10.0.0.1',
      announce({ prefixes: [P], attrs: { ...base, clusterList: ['1.0.0.1', '1.0.0.2'] } }),
    );
    rib.applyUpdate('10.0.0.2', announce({ prefixes: [P], attrs: { ...base, clusterList: ['1.0.0.3'] } }));
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.2', reason: 'cluster-list-length' });
  });

  it('lowest router id wins, compared as numbers (router-id)', () => {
    const { rib } = makeRib([
      ebgp('192.0.2.1', 65001, { bgpId: '9.0.0.1' }),
      ebgp('192.0.2.2', 65002, { bgpId: '10.0.0.1' }),
    ]);
    rib.applyUpdate('192.0.2.2', announce({ prefixes: [P], attrs: { asPath: [seq(65002)] } }));
    rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { asPath: [seq(65001)] } }));
    expect(bestOf(rib, P)).toEqual({ from: '192.0.2.1', reason: 'router-id' });
  });

  it('ORIGINATOR_ID stands in for the peer router id (RFC 4456 §9)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1', { bgpId: '1.1.1.1' }), ibgp('10.0.0.2', { bgpId: '2.2.2.2' })]);
    rib.applyUpdate(
      '10.0.0.1',
      announce({ prefixes: [P], attrs: { originatorId: '10.9.9.9', clusterList: ['7.7.7.7'] } }),
    );
    rib.applyUpdate(
      '10.0.0.2',
      announce({ prefixes: [P], attrs: { originatorId: '10.3.3.3', clusterList: ['7.7.7.8'] } }),
    );
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.2', reason: 'router-id' });
  });

  it('lowest peer address wins, numerically (peer-address)', () => {
    // Same ORIGINATOR_ID reflected by two route reflectors: only the address is left.
    const { rib } = makeRib([
      ibgp('10.0.0.10', { bgpId: '1.1.1.1' }),
      ibgp('10.0.0.9', { bgpId: '2.2.2.2' }),
    ]);
    const attrs = { originatorId: '10.3.3.3', clusterList: ['7.7.7.7'] };
    rib.applyUpdate('10.0.0.10', announce({ prefixes: [P], attrs }));
    rib.applyUpdate('10.0.0.9', announce({ prefixes: [P], attrs }));
    expect(bestOf(rib, P)).toEqual({ from: '10.0.0.9', reason: 'peer-address' });
  });

  it('ADD-PATH paths of one peer are separated by path id (path-id)', () => {
    const { rib } = makeRib([ibgp('10.0.0.1')]);
    rib.applyUpdate('10.0.0.1', announce({ prefixes: [P, P], pathIds: [7, 3], attrs: { asPath: [seq(1)] } }));
    const d = rib.getDest(P);
    expect(d?.best?.pathId).toBe(3);
    expect(d?.reason).toBe('path-id');
  });

  it('a rejected path never wins', () => {
    const { rib } = makeRib([ebgp('192.0.2.1', 65001)]);
    rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { asPath: [seq(65001, LOCAL_AS)] } }));
    expect(rib.getDest(P)?.best).toBeNull();
  });
});

describe('MED non-transitivity (RFC 4271 §9.1.2.2 (c) is a group step)', () => {
  // Pairwise: A beats B (router id), B beats C (router id), C beats A (MED, same AS 100):
  // a cycle. Removing A within AS 100 first, then comparing B and C, always gives B.
  const peers = [
    ebgp('192.0.2.1', 100, { bgpId: '1.1.1.1' }), // A: AS 100, MED 20
    ebgp('192.0.2.2', 200, { bgpId: '2.2.2.2' }), // B: AS 200, MED 10
    ebgp('192.0.2.3', 100, { bgpId: '3.3.3.3' }), // C: AS 100, MED 10
  ];
  const updates: Record<string, ReturnType<typeof announce>> = {
    '192.0.2.1': announce({ prefixes: [P], attrs: { med: 20, asPath: [seq(100)] } }),
    '192.0.2.2': announce({ prefixes: [P], attrs: { med: 10, asPath: [seq(200)] } }),
    '192.0.2.3': announce({ prefixes: [P], attrs: { med: 10, asPath: [seq(100)] } }),
  };
  const orders = [
    ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
    ['192.0.2.1', '192.0.2.3', '192.0.2.2'],
    ['192.0.2.2', '192.0.2.1', '192.0.2.3'],
    ['192.0.2.2', '192.0.2.3', '192.0.2.1'],
    ['192.0.2.3', '192.0.2.1', '192.0.2.2'],
    ['192.0.2.3', '192.0.2.2', '192.0.2.1'],
  ];
  for (const order of orders) {
    it(`picks B for insertion order ${order.map((a) => 'ABC'[Number(a.slice(-1)) - 1]).join('')}`, () => {
      const { rib } = makeRib(peers);
      for (const id of order) rib.applyUpdate(id, updates[id] as ReturnType<typeof announce>);
      expect(bestOf(rib, P)).toEqual({ from: '192.0.2.2', reason: 'router-id' });
    });
  }
});

describe('ECMP multipath', () => {
  const three = [
    ebgp('192.0.2.1', 65001, { bgpId: '3.3.3.3' }),
    ebgp('192.0.2.2', 65001, { bgpId: '1.1.1.1' }),
    ebgp('192.0.2.3', 65001, { bgpId: '2.2.2.2' }),
  ];
  const attrs = { asPath: [seq(65001, 7)], med: 5 };
  const feed = (rib: ReturnType<typeof makeRib>['rib']) => {
    for (const p of three) rib.applyUpdate(p.id, announce({ prefixes: [P], attrs, nextHop: p.id }));
  };

  it('maxPaths 1 (default) keeps the multipath set to the best path', () => {
    const { rib, events } = makeRib(three);
    feed(rib);
    expect(rib.getDest(P)?.multipath).toBeNull();
    expect(events.at(-1)?.multipath.map((p) => p.peer?.id)).toEqual(['192.0.2.2']);
  });

  it('equal paths form a set ordered by the remaining tie-breakers, cut at maxPaths', () => {
    const { rib, events } = makeRib(three, { maxPaths: 2 });
    feed(rib);
    expect(rib.getDest(P)?.multipath?.map((p) => p.peer?.id)).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(events.at(-1)?.multipath.map((p) => p.peer?.id)).toEqual(['192.0.2.2', '192.0.2.3']);
    const all = makeRib(three, { maxPaths: 8 });
    feed(all.rib);
    expect(all.rib.getDest(P)?.multipath?.map((p) => p.peer?.id)).toEqual([
      '192.0.2.2',
      '192.0.2.3',
      '192.0.2.1',
    ]);
  });

  it('paths from another neighbour AS, with another MED, or of another type are not merged', () => {
    const peers = [
      ebgp('192.0.2.1', 65001, { bgpId: '1.1.1.1' }),
      ebgp('192.0.2.2', 65002, { bgpId: '2.2.2.2' }),
      ebgp('192.0.2.3', 65003, { bgpId: '3.3.3.3' }),
      ibgp('10.0.0.4', { bgpId: '4.4.4.4' }),
    ];
    const { rib } = makeRib(peers, { maxPaths: 8, alwaysCompareMed: false });
    rib.applyUpdate('192.0.2.1', announce({ prefixes: [P], attrs: { asPath: [seq(65001, 7)] } }));
    rib.applyUpdate('192.0.2.2', announce({ prefixes: [P], attrs: { asPath: [seq(65002, 7)] } }));
    expect(rib.getDest(P)?.multipath).toBeNull(); // eBGP, different neighbour AS
    const ib = makeRib([ibgp('10.0.0.1', { bgpId: '1.1.1.1' }), ibgp('10.0.0.2', { bgpId: '2.2.2.2' })], {
      maxPaths: 8,
    });
    ib.rib.applyUpdate('10.0.0.1', announce({ prefixes: [P], attrs: { asPath: [seq(65001, 7)] } }));
    ib.rib.applyUpdate('10.0.0.2', announce({ prefixes: [P], attrs: { asPath: [seq(65002, 7)] } }));
    // iBGP: the neighbour AS may differ (both learned inside our AS), the MED may not.
    expect(ib.rib.getDest(P)?.multipath?.length).toBe(2);
    ib.rib.applyUpdate('10.0.0.2', announce({ prefixes: [P], attrs: { asPath: [seq(65002, 7)], med: 3 } }));
    expect(ib.rib.getDest(P)?.multipath).toBeNull();
    // eBGP and iBGP never merge: eBGP-over-iBGP removed the iBGP path first.
    rib.applyUpdate('10.0.0.4', announce({ prefixes: [P], attrs: { asPath: [seq(65001, 7)] } }));
    expect(rib.getDest(P)?.best?.peer?.id).toBe('192.0.2.1');
    expect(rib.getDest(P)?.multipath).toBeNull();
  });

  it('a change inside the ECMP set is an event even when the best path stays', () => {
    const { rib, events } = makeRib(three, { maxPaths: 4 });
    feed(rib);
    const before = events.length;
    rib.applyUpdate(
      '192.0.2.1',
      announce({ prefixes: [P], attrs: { ...attrs, med: 9 }, nextHop: '192.0.2.1' }),
    );
    expect(events.length).toBe(before + 1);
    expect(events.at(-1)?.best?.peer?.id).toBe('192.0.2.2');
    expect(events.at(-1)?.multipath.map((p) => p.peer?.id)).toEqual(['192.0.2.2', '192.0.2.3']);
  });
});
