// Long-lived graceful restart (RFC 9494): the capability codec and its negotiation, the
// LLGR_STALE step of the decision process, the export rule, and the helper's timers (restart
// time, then the long-lived stale time) on a manual clock against a real RIB.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../../../bgp/errors.ts';
import { exportPath, PeerState } from '../../../../bgp/rib/index.ts';
import { buildLocalOpen } from '../../../../bgp/session/local-open.ts';
import { StaleRoutes } from '../../../../bgp/speaker/graceful-restart.ts';
import { decodeCapabilities, encodeCapabilities } from '../../../../bgp/wire/capabilities.ts';
import {
  type Capability,
  type GracefulRestartCapability,
  type LongLivedGracefulRestartCapability,
  negotiate,
  type OpenMessage,
  WellKnownCommunity,
} from '../../../../bgp/wire/index.ts';
import { Reader } from '../../../../bgp/wire/reader.ts';
import { ManualClock } from '../../../support/manual-clock.ts';
import { announce, makeRib, peer } from '../rib/helpers.ts';

const LLGR_STALE = WellKnownCommunity.llgrStale;
const NO_LLGR = WellKnownCommunity.noLlgr;

function decodeAll(bytes: Uint8Array): Capability[] {
  const out: Capability[] = [];
  decodeCapabilities(new Reader(bytes, 0, bytes.length, 2, 0), out);
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('LLGR capability (code 71) codec', () => {
  it('encodes AFI, SAFI, the F bit and the 24-bit stale time per family', () => {
    const cap: Capability = {
      kind: 'longLivedGracefulRestart',
      families: [
        { afi: 1, safi: 1, forwardingPreserved: true, staleTime: 0x123456 },
        { afi: 2, safi: 1, forwardingPreserved: false, staleTime: 3600 },
      ],
    };
    const bytes = encodeCapabilities([cap]);
    expect(hex(bytes)).toBe(`470e` + `00010180123456` + `00020100000e10`);
    expect(decodeAll(bytes)).toEqual([cap]);
  });

  it('decodes an empty capability (BIRD sends one) and ignores the reserved flag bits', () => {
    expect(decodeAll(Uint8Array.from([71, 0]))).toEqual([{ kind: 'longLivedGracefulRestart', families: [] }]);
    expect(decodeAll(Uint8Array.from([71, 7, 0, 1, 1, 0xff, 0, 0, 5]))).toEqual([
      {
        kind: 'longLivedGracefulRestart',
        families: [{ afi: 1, safi: 1, forwardingPreserved: true, staleTime: 5 }],
      },
    ]);
  });

  it('a value that is not a whole number of 7-byte tuples is OPEN Message Error / 0', () => {
    let err: unknown;
    try {
      decodeAll(Uint8Array.from([71, 6, 0, 1, 1, 0x80, 0, 0]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WireError);
    expect((err as WireError).notifyCode).toBe(2);
    expect((err as WireError).notifySubcode).toBe(0);
  });

  it('refuses to encode a stale time above 24 bits', () => {
    const cap: Capability = {
      kind: 'longLivedGracefulRestart',
      families: [{ afi: 1, safi: 1, forwardingPreserved: false, staleTime: 0x1000000 }],
    };
    expect(() => encodeCapabilities([cap])).toThrow(/24 bits/);
  });

  it('round-trips any families (property)', () => {
    const family = fc.record({
      afi: fc.integer({ min: 0, max: 0xffff }),
      safi: fc.integer({ min: 0, max: 0xff }),
      forwardingPreserved: fc.boolean(),
      staleTime: fc.integer({ min: 0, max: 0xffffff }),
    });
    fc.assert(
      fc.property(fc.array(family, { maxLength: 36 }), (families) => {
        const cap: Capability = { kind: 'longLivedGracefulRestart', families };
        expect(decodeAll(encodeCapabilities([cap]))).toEqual([cap]);
      }),
      { seed: 9494, numRuns: 300 },
    );
  });
});

const MP: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'multiprotocol', afi: 2, safi: 1 },
];

function open(caps: Capability[], asn = 65001): OpenMessage {
  return { type: 'open', version: 4, myAsn: asn, holdTime: 90, bgpId: '192.0.2.9', capabilities: caps };
}

const grCap = (restartTime: number): GracefulRestartCapability => ({
  kind: 'gracefulRestart',
  restartState: false,
  notification: false,
  restartTime,
  families: [
    { afi: 1, safi: 1, forwardingPreserved: true },
    { afi: 2, safi: 1, forwardingPreserved: true },
  ],
});
const llgrCap = (staleTime: number, forwardingPreserved = true): LongLivedGracefulRestartCapability => ({
  kind: 'longLivedGracefulRestart',
  families: [
    { afi: 1, safi: 1, forwardingPreserved, staleTime },
    { afi: 2, safi: 1, forwardingPreserved, staleTime },
  ],
});

describe('LLGR in the OPEN and in negotiation', () => {
  const base = {
    asn: 65000,
    routerId: '192.0.2.1',
    holdTime: 90,
    families: ['ipv4-unicast', 'ipv6-unicast'] as const,
    isIpv6Transport: false,
    forwardingPreserved: true,
    isRestarting: false,
    gracefulNotification: true,
  };

  it('advertises LLGR with the GR capability, also when the restart time is 0 (RFC 9494 §4.1)', () => {
    const caps = buildLocalOpen({ ...base, gracefulRestartTime: 0, longLivedStaleTime: 600 }).capabilities;
    expect(caps.find((c) => c.kind === 'gracefulRestart')).toMatchObject({ restartTime: 0 });
    expect(caps.find((c) => c.kind === 'longLivedGracefulRestart')).toEqual(llgrCap(600));
    const none = buildLocalOpen({ ...base, gracefulRestartTime: 120 }).capabilities;
    expect(none.some((c) => c.kind === 'longLivedGracefulRestart')).toBe(false);
  });

  it("keeps the peer's LLGR capability only when its OPEN has the GR capability too", () => {
    const local = open([grCap(120), llgrCap(600)], 65000);
    expect(negotiate(local, open([grCap(0), llgrCap(30)])).longLivedGracefulRestart).toEqual(llgrCap(30));
    expect(negotiate(local, open([llgrCap(30)])).longLivedGracefulRestart).toBeUndefined();
  });
});

describe('LLGR_STALE in the decision process and the export rules', () => {
  it('a path with LLGR_STALE loses to any path without it, LOCAL_PREF notwithstanding (RFC 9494 §4.5)', () => {
    const { rib } = makeRib([{ id: '192.0.2.10' }, { id: '192.0.2.11' }]);
    rib.applyUpdate(
      '192.0.2.10',
      announce({
        prefixes: ['10.1.0.0/16'],
        attrs: { origin: 0, localPref: 500, communities: [LLGR_STALE] },
      }),
    );
    rib.applyUpdate(
      '192.0.2.11',
      announce({ prefixes: ['10.1.0.0/16'], attrs: { origin: 0, localPref: 50 } }),
    );
    const dest = rib.getDest('10.1.0.0/16');
    expect(dest?.best?.peer?.id).toBe('192.0.2.11');
    expect(dest?.reason).toBe('llgr-stale');
  });

  it('goes only to peers that advertised LLGR, with the community (RFC 9494 §4.6)', () => {
    const { rib } = makeRib([{ id: '192.0.2.10', asn: 65010 }]);
    rib.applyUpdate(
      '192.0.2.10',
      announce({ prefixes: ['10.1.0.0/16'], attrs: { origin: 0, asPath: [], communities: [LLGR_STALE] } }),
    );
    const best = rib.getDest('10.1.0.0/16')?.best;
    if (best === null || best === undefined) throw new Error('no best path');
    const ctx = { isRouteReflector: false, clusterId: '10.255.0.1' };
    const llgrPeer = PeerState.create(peer({ id: '192.0.2.20', asn: 65020, llgr: true }));
    const plainPeer = PeerState.create(peer({ id: '192.0.2.30', asn: 65030 }));
    if (llgrPeer === null || plainPeer === null) throw new Error('no peer state');
    expect(exportPath(best, 'ipv4-unicast', llgrPeer, ctx)?.attrs.communities).toEqual([LLGR_STALE]);
    expect(exportPath(best, 'ipv4-unicast', plainPeer, ctx)).toBeNull();
  });
});

describe('StaleRoutes with LLGR (helper side, manual clock)', () => {
  const PEER = '192.0.2.10';
  const RIB_ID = `${PEER}#1`;

  function setup() {
    const clock = new ManualClock();
    const { rib } = makeRib([{ id: RIB_ID, address: PEER }]);
    const removed: string[] = [];
    const stale = new StaleRoutes({
      rib,
      stalePathTime: 360,
      removePeer: (id) => {
        removed.push(id);
        rib.removePeer(id);
      },
      timers: clock.timers,
    });
    rib.applyUpdate(RIB_ID, announce({ prefixes: ['10.1.0.0/16', '10.2.0.0/16'], attrs: { origin: 0 } }));
    rib.applyUpdate(
      RIB_ID,
      announce({ prefixes: ['10.3.0.0/16'], attrs: { origin: 0, communities: [NO_LLGR] } }),
    );
    rib.applyUpdate(RIB_ID, announce({ prefixes: ['2001:db8:1::/48'], attrs: { origin: 0 } }));
    const communitiesOf = (prefix: string) => rib.getDest(prefix)?.best?.attrs.attrs.communities ?? null;
    return { clock, rib, stale, removed, communitiesOf };
  }
  const families = ['ipv4-unicast', 'ipv6-unicast'] as const;

  it('restart time, then LLGR_STALE for the stale time with NO_LLGR routes gone, then nothing', () => {
    const { clock, rib, stale, removed, communitiesOf } = setup();
    expect(stale.retain(PEER, RIB_ID, families, grCap(2), llgrCap(10))).toBe(true);
    clock.advance(1999);
    expect(communitiesOf('10.1.0.0/16')).toBeNull();
    expect(stale.stateOf(PEER)).toMatchObject({ restarting: families, longLived: [] });
    clock.advance(1);
    expect(communitiesOf('10.1.0.0/16')).toEqual([LLGR_STALE]);
    expect(communitiesOf('10.2.0.0/16')).toEqual([LLGR_STALE]);
    expect(communitiesOf('2001:db8:1::/48')).toEqual([LLGR_STALE]);
    expect(rib.getDest('10.3.0.0/16')).toBeUndefined();
    expect(stale.stateOf(PEER)).toMatchObject({ restarting: [], longLived: families });
    clock.advance(9999);
    expect(removed).toEqual([]);
    clock.advance(1);
    expect(removed).toEqual([RIB_ID]);
    expect(rib.prefixCount).toBe(0);
    expect(clock.pendingCount).toBe(0);
  });

  it('restart time 0: long-lived stale at once; without LLGR nothing is kept', () => {
    const a = setup();
    expect(a.stale.retain(PEER, RIB_ID, families, grCap(0), llgrCap(10))).toBe(true);
    expect(a.communitiesOf('10.1.0.0/16')).toEqual([LLGR_STALE]);
    a.clock.advance(10_000);
    expect(a.removed).toEqual([RIB_ID]);
    const b = setup();
    expect(b.stale.retain(PEER, RIB_ID, families, grCap(0))).toBe(false);
    expect(b.stale.retain(PEER, RIB_ID, families, grCap(0), llgrCap(0))).toBe(false);
  });

  it('the peer back with LLGR and F: the stale timer runs on until End-of-RIB', () => {
    const { clock, rib, stale, removed, communitiesOf } = setup();
    stale.retain(PEER, RIB_ID, families, grCap(0), llgrCap(100));
    clock.advance(50_000);
    const caps = [...MP, grCap(120), llgrCap(100)];
    const negotiated = negotiate(open(caps, 65000), open(caps));
    stale.sessionUp(PEER, negotiated);
    clock.advance(40_000);
    expect(communitiesOf('10.1.0.0/16')).toEqual([LLGR_STALE]);
    stale.endOfRib(PEER, 'ipv4-unicast');
    expect(rib.getDest('10.1.0.0/16')).toBeUndefined();
    expect(communitiesOf('2001:db8:1::/48')).toEqual([LLGR_STALE]);
    expect(stale.stateOf(PEER)?.longLived).toEqual(['ipv6-unicast']);
    clock.advance(10_000);
    expect(removed).toEqual([RIB_ID]);
  });

  it('the peer back without LLGR, or with the F bit clear: the long-lived routes go at once', () => {
    for (const remote of [[grCap(120)], [grCap(120), llgrCap(100, false)]]) {
      const { stale, removed } = setup();
      stale.retain(PEER, RIB_ID, families, grCap(0), llgrCap(100));
      stale.sessionUp(PEER, negotiate(open([grCap(120), llgrCap(100)], 65000), open(remote)));
      expect(removed).toEqual([RIB_ID]);
    }
  });

  it('a stale time beyond one host timer (2^31 ms) is re-armed in steps and still ends on time', () => {
    const { clock, stale, removed } = setup();
    stale.retain(PEER, RIB_ID, families, grCap(0), llgrCap(0xffffff));
    clock.advance(0xffffff * 1000 - 1);
    expect(removed).toEqual([]);
    clock.advance(1);
    expect(removed).toEqual([RIB_ID]);
  });
});
