// Import: loop checks (RFC 4271 §9.1.2, RFC 4456 §8), counters, replacement and withdrawal,
// RFC 7606 treat-as-withdraw, ADD-PATH keys, attribute interning and refcounts, peer down,
// and the declarative local routes.
import { describe, expect, it } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import { Rib } from '../../../../bgp/rib/index.ts';
import type { UpdateMessage } from '../../../../bgp/wire/types.ts';
import {
  advertisedTo,
  announce,
  bestOf,
  LOCAL_AS,
  makeRib,
  peer,
  ROUTER_ID,
  seq,
  withdraw,
} from './helpers.ts';

const E = '192.0.2.1';
const I = '10.0.0.1';

describe('import loop checks', () => {
  it('own AS in AS_PATH: refused, counted as received but not accepted; allowAsIn tolerates N', () => {
    const { rib } = makeRib([{ id: E, asn: 65001 }]);
    rib.applyUpdate(E, announce({ prefixes: ['10.1.0.0/24'], attrs: { asPath: [seq(65001, LOCAL_AS, 7)] } }));
    expect(rib.peerStats(E)).toMatchObject({ received: 1, accepted: 0 });
    expect(rib.getDest('10.1.0.0/24')?.best).toBeNull();
    expect(rib.listRoutes({ prefix: '10.1.0.0/24' })[0]?.paths[0]?.rejected).toBe('as-path-loop');

    const allow = makeRib([{ id: E, asn: 65001, allowAsIn: 1 }]);
    allow.rib.applyUpdate(
      E,
      announce({ prefixes: ['10.1.0.0/24'], attrs: { asPath: [seq(65001, LOCAL_AS, 7)] } }),
    );
    allow.rib.applyUpdate(
      E,
      announce({ prefixes: ['10.2.0.0/24'], attrs: { asPath: [seq(65001, LOCAL_AS, 7, LOCAL_AS)] } }),
    );
    expect(allow.rib.peerStats(E)).toMatchObject({ received: 2, accepted: 1 });
    expect(bestOf(allow.rib, '10.1.0.0/24').from).toBe(E);
    expect(allow.rib.getDest('10.2.0.0/24')?.best).toBeNull();
  });

  it('our AS inside an AS_SET is a loop too', () => {
    const { rib } = makeRib([{ id: E, asn: 65001 }]);
    rib.applyUpdate(
      E,
      announce({ prefixes: ['10.1.0.0/24'], attrs: { asPath: [seq(65001), { type: 1, asns: [LOCAL_AS] }] } }),
    );
    expect(rib.peerStats(E).accepted).toBe(0);
  });

  it('ORIGINATOR_ID equal to our router id is refused (RFC 4456 §8)', () => {
    const { rib } = makeRib([{ id: I }]);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24'], attrs: { originatorId: ROUTER_ID } }));
    rib.applyUpdate(I, announce({ prefixes: ['10.2.0.0/24'], attrs: { originatorId: '10.9.9.9' } }));
    expect(rib.peerStats(I)).toMatchObject({ received: 2, accepted: 1 });
    expect(rib.listRoutes({ prefix: '10.1.0.0/24' })[0]?.paths[0]?.rejected).toBe('originator-id-loop');
  });

  it('our CLUSTER_ID in CLUSTER_LIST is refused (RFC 4456 §8), default cluster id = router id', () => {
    const { rib } = makeRib([{ id: I }]);
    rib.applyUpdate(
      I,
      announce({ prefixes: ['10.1.0.0/24'], attrs: { clusterList: ['1.2.3.4', ROUTER_ID] } }),
    );
    expect(rib.peerStats(I).accepted).toBe(0);
    const custom = makeRib([{ id: I }], { clusterId: '1.2.3.4' });
    custom.rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24'], attrs: { clusterList: [ROUTER_ID] } }));
    custom.rib.applyUpdate(I, announce({ prefixes: ['10.2.0.0/24'], attrs: { clusterList: ['1.2.3.4'] } }));
    expect(custom.rib.peerStats(I)).toMatchObject({ received: 2, accepted: 1 });
    expect(custom.rib.getDest('10.2.0.0/24')?.best).toBeNull();
  });

  it('a refused announcement replaces the previous accepted path (implicit withdraw)', () => {
    const { rib, events } = makeRib([{ id: E, asn: 65001 }]);
    rib.applyUpdate(E, announce({ prefixes: ['10.1.0.0/24'], attrs: { asPath: [seq(65001)] } }));
    rib.applyUpdate(E, announce({ prefixes: ['10.1.0.0/24'], attrs: { asPath: [seq(65001, LOCAL_AS)] } }));
    expect(rib.getDest('10.1.0.0/24')?.best).toBeNull();
    expect(events.at(-1)).toMatchObject({ prefix: '10.1.0.0/24', best: null, multipath: [] });
    expect(rib.peerStats(E)).toMatchObject({ received: 1, accepted: 0 });
  });
});

describe('applyUpdate', () => {
  it('withdraws, replaces and ignores duplicates without events', () => {
    const { rib, events } = makeRib([{ id: I }]);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24', '10.2.0.0/24'] }));
    expect(events.length).toBe(2);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24', '10.2.0.0/24'] }));
    expect(events.length).toBe(2);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24'], attrs: { med: 5 } }));
    expect(events.length).toBe(3);
    expect(events.at(-1)?.best?.attrs.attrs.med).toBe(5);
    rib.applyUpdate(I, withdraw(['10.1.0.0/24', '10.9.0.0/24']));
    expect(events.length).toBe(4);
    expect(rib.getDest('10.1.0.0/24')).toBeUndefined();
    expect(rib.peerStats(I)).toMatchObject({ received: 1, accepted: 1 });
  });

  it('treat-as-withdraw removes every reach prefix of the UPDATE (RFC 7606 §2)', () => {
    const { rib } = makeRib([{ id: I }]);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24', '10.2.0.0/24'] }));
    const bad: UpdateMessage = {
      ...announce({ prefixes: ['10.1.0.0/24'], attrs: { med: 7 } }),
      treatAsWithdraw: { typeCode: 8, action: 'treat-as-withdraw', reason: 'bad length' },
    };
    rib.applyUpdate(I, bad);
    expect(rib.getDest('10.1.0.0/24')).toBeUndefined();
    expect(bestOf(rib, '10.2.0.0/24').from).toBe(I);
  });

  it('keys ADD-PATH paths by path id', () => {
    const { rib } = makeRib([{ id: I }]);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24', '10.1.0.0/24'], pathIds: [1, 2] }));
    expect(rib.peerStats(I).received).toBe(2);
    rib.applyUpdate(I, withdraw(['10.1.0.0/24'], [1]));
    expect(rib.getDest('10.1.0.0/24')?.best?.pathId).toBe(2);
    expect(rib.peerStats(I).received).toBe(1);
  });

  it('ignores families the session did not negotiate', () => {
    const rib = new Rib({ routerId: ROUTER_ID });
    rib.addPeer(peer({ id: I }));
    rib.peerUp(I, { routerId: I, families: ['ipv4-unicast'] });
    rib.applyUpdate(I, announce({ prefixes: ['2001:db8:1::/48'] }));
    expect(rib.prefixCount).toBe(0);
  });

  it('records End-of-RIB markers received', () => {
    const { rib } = makeRib([{ id: I }]);
    rib.applyUpdate(I, {
      type: 'update',
      withdrawn: [],
      reach: [],
      attributes: {},
      endOfRib: 'ipv4-unicast',
    });
    expect(rib.peerStats(I).endOfRibReceived).toEqual(['ipv4-unicast']);
  });

  it('refuses UPDATEs from unknown or not Established peers, and bad peer config', () => {
    const rib = new Rib({ routerId: ROUTER_ID });
    expect(() => rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24'] }))).toThrow(BgpError);
    rib.addPeer(peer({ id: I }));
    expect(() => rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24'] }))).toThrow(
      expect.objectContaining({ code: 'BGP_ERR_FSM', message: expect.stringMatching(/not Established/) }),
    );
    expect(() => rib.addPeer(peer({ id: I }))).toThrow(/already configured/);
    expect(() => rib.addPeer(peer({ id: 'x', address: 'nope' }))).toThrow(/not an IP address/);
    expect(() => new Rib({ routerId: 'r1' })).toThrow(/dotted quad/);
  });
});

describe('attribute interning', () => {
  it('identical attributes share one frozen set; the last path gone frees it', () => {
    const { rib } = makeRib([{ id: I }, { id: '10.0.0.2' }]);
    const attrs = { asPath: [seq(65001)], communities: [1, 2] };
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24', '10.2.0.0/24'], attrs }));
    rib.applyUpdate('10.0.0.2', announce({ prefixes: ['10.3.0.0/24'], attrs: { ...attrs } }));
    const a = rib.getDest('10.1.0.0/24')?.best?.attrs;
    expect(a).toBe(rib.getDest('10.3.0.0/24')?.best?.attrs);
    expect(a?.refCount).toBe(3);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a?.attrs.asPath?.[0]?.asns)).toBe(true);
    expect(rib.attrSetCount).toBe(1);
    rib.applyUpdate(I, announce({ prefixes: ['10.4.0.0/24'], attrs: { med: 1 } }));
    expect(rib.attrSetCount).toBe(2);
    rib.applyUpdate(I, withdraw(['10.1.0.0/24', '10.2.0.0/24']));
    expect(a?.refCount).toBe(1);
    rib.peerDown('10.0.0.2');
    expect(a?.refCount).toBe(0);
    expect(rib.attrSetCount).toBe(1);
    rib.applyUpdate(I, withdraw(['10.4.0.0/24']));
    expect(rib.attrSetCount).toBe(0);
  });

  it('a different next hop is a different set; an unchanged UPDATE interns nothing new', () => {
    const { rib } = makeRib([{ id: I }]);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24'], nextHop: '192.0.2.7' }));
    rib.applyUpdate(I, announce({ prefixes: ['10.2.0.0/24'], nextHop: '192.0.2.8' }));
    expect(rib.attrSetCount).toBe(2);
    rib.applyUpdate(I, announce({ prefixes: ['10.2.0.0/24'], nextHop: '192.0.2.7' }));
    expect(rib.attrSetCount).toBe(1);
    expect(rib.getDest('10.2.0.0/24')?.best?.attrs.nextHop).toBe('192.0.2.7');
  });

  it('copies unknown attribute values out of the decoder buffer', () => {
    const { rib } = makeRib([{ id: I }]);
    const buffer = new Uint8Array([1, 2, 3, 4]);
    rib.applyUpdate(
      I,
      announce({
        prefixes: ['10.1.0.0/24'],
        attrs: { unknown: [{ flags: 0xc0, typeCode: 99, value: buffer.subarray(1, 3) }] },
      }),
    );
    buffer.fill(0);
    expect([...(rib.getDest('10.1.0.0/24')?.best?.attrs.attrs.unknown?.[0]?.value ?? [])]).toEqual([2, 3]);
  });
});

describe('peer down and removal', () => {
  it('withdraws exactly the paths the peer contributed and re-elects the others', () => {
    const { rib, events } = makeRib([
      { id: I, bgpId: '1.1.1.1' },
      { id: '10.0.0.2', bgpId: '2.2.2.2' },
    ]);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24', '10.2.0.0/24'] }));
    rib.applyUpdate('10.0.0.2', announce({ prefixes: ['10.2.0.0/24', '10.3.0.0/24'] }));
    expect(bestOf(rib, '10.2.0.0/24').from).toBe(I);
    events.length = 0;
    rib.peerDown(I);
    expect(rib.getDest('10.1.0.0/24')).toBeUndefined();
    expect(bestOf(rib, '10.2.0.0/24')).toEqual({ from: '10.0.0.2', reason: 'only-path' });
    expect(bestOf(rib, '10.3.0.0/24').from).toBe('10.0.0.2');
    expect(events.map((e) => [e.prefix, e.best?.peer?.id ?? null])).toEqual([
      ['10.1.0.0/24', null],
      ['10.2.0.0/24', '10.0.0.2'],
    ]);
    expect(rib.peerStats(I)).toMatchObject({ isUp: false, received: 0, accepted: 0 });
    expect(rib.peerStats('10.0.0.2').received).toBe(2);
    rib.removePeer('10.0.0.2');
    expect(rib.prefixCount).toBe(0);
    expect(rib.peerIds).toEqual([I]);
  });

  it('a deferred removal ends where the synchronous one does, in flush steps', () => {
    const prefixes = Array.from({ length: 10 }, (_, i) => `10.${i}.0.0/24`);
    const observer = '10.0.0.3';
    const build = () => {
      const t = makeRib([
        { id: I, bgpId: '1.1.1.1' },
        { id: '10.0.0.2', bgpId: '2.2.2.2' },
        { id: observer, bgpId: '3.3.3.3', routeReflectorClient: true },
      ]);
      t.rib.applyUpdate(I, announce({ prefixes }));
      t.rib.applyUpdate('10.0.0.2', announce({ prefixes: prefixes.slice(0, 4) }));
      advertisedTo(t.rib, observer);
      t.events.length = 0;
      return t;
    };
    const sync = build();
    sync.rib.removePeer(I);
    expect(sync.events).toHaveLength(10);

    const deferred = build();
    deferred.rib.removePeer(I, { isDeferred: true });
    // Down at once (sends nothing more), still configured, its paths still in the table.
    expect(deferred.rib.peerStats(I)).toMatchObject({ isUp: false, received: 10 });
    expect(deferred.rib.hasPeer(I)).toBe(true);
    expect(deferred.events).toEqual([]);
    expect(() => deferred.rib.applyUpdate(I, withdraw(['10.0.0.0/24']))).toThrow(BgpError);
    let steps = 0;
    while (deferred.rib.flush(3)) steps++;
    expect(steps).toBeGreaterThanOrEqual(3);
    expect(deferred.rib.hasPendingFlush).toBe(false);
    expect(deferred.rib.hasPeer(I)).toBe(false);
    expect(deferred.rib.peerIds).toEqual(sync.rib.peerIds);
    expect(deferred.events.map((e) => [e.prefix, e.best?.peer?.id ?? null])).toEqual(
      sync.events.map((e) => [e.prefix, e.best?.peer?.id ?? null]),
    );
    expect(advertisedTo(deferred.rib, observer)).toEqual(advertisedTo(sync.rib, observer));
    expect(deferred.rib.prefixCount).toBe(4);
  });

  it('a pending deferred flush is completed before the peer comes back or is added again', () => {
    const { rib } = makeRib([{ id: I, bgpId: '1.1.1.1' }]);
    rib.applyUpdate(I, announce({ prefixes: ['10.1.0.0/24', '10.2.0.0/24'] }));
    rib.peerDown(I, { isDeferred: true });
    rib.peerUp(I, { routerId: '1.1.1.1' });
    expect(rib.prefixCount).toBe(0);
    rib.applyUpdate(I, announce({ prefixes: ['10.3.0.0/24'] }));
    rib.removePeer(I, { isDeferred: true });
    expect(rib.hasPeer(I)).toBe(true);
    rib.addPeer(peer({ id: I }));
    expect(rib.prefixCount).toBe(0);
    expect(rib.hasPendingFlush).toBe(false);
    expect(rib.peerStats(I)).toMatchObject({ isUp: false, received: 0 });
  });
});

describe('local routes (declarative)', () => {
  it('diffs the desired set: only changes produce events', () => {
    const { rib, events } = makeRib([]);
    rib.setLocalRoutes([{ prefix: '10.244.1.0/24' }, { prefix: '10.244.2.0/24', med: 5 }]);
    expect(events.map((e) => e.prefix)).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    rib.setLocalRoutes([{ prefix: '10.244.1.0/24' }, { prefix: '10.244.2.0/24', med: 5 }]);
    expect(events.length).toBe(2);
    rib.setLocalRoutes([{ prefix: '10.244.2.0/24', med: 6 }, { prefix: 'fd00:10:244::/64' }]);
    expect(events.slice(2).map((e) => [e.prefix, e.best === null])).toEqual([
      ['10.244.1.0/24', true],
      ['10.244.2.0/24', false],
      ['fd00:10:244::/64', false],
    ]);
    expect(events.at(-1)?.family).toBe('ipv6-unicast');
    expect(rib.attrSetCount).toBe(2);
    rib.setLocalRoutes([]);
    expect(rib.prefixCount).toBe(0);
    expect(rib.attrSetCount).toBe(0);
  });

  it('canonicalises prefixes and keeps the last good set on invalid input', () => {
    const { rib } = makeRib([]);
    rib.setLocalRoutes([{ prefix: '10.244.1.7/24' }, { prefix: '2001:DB8:0:0:1::5/64' }]);
    expect(rib.listRoutes().map((r) => r.prefix)).toEqual(['10.244.1.0/24', '2001:db8::/64']);
    expect(() => rib.setLocalRoutes([{ prefix: '10.244.9.0/33' }])).toThrow(BgpError);
    expect(() => rib.setLocalRoutes([{ prefix: '10.0.0.0/8' }, { prefix: '10.0.0.1/8' }])).toThrow(/twice/);
    expect(() => rib.setLocalRoutes([{ prefix: '10.0.0.0/8', nextHop: 'gw' }])).toThrow(/next hop/);
    expect(rib.prefixCount).toBe(2);
  });
});
