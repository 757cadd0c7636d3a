import { describe, expect, it } from 'vitest';
import { negotiate } from '../../../../bgp/wire/negotiate.ts';
import type { Capability, OpenMessage } from '../../../../bgp/wire/types.ts';

function open(caps: Capability[], over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 'open',
    version: 4,
    myAsn: 65001,
    holdTime: 90,
    bgpId: '192.0.2.1',
    capabilities: caps,
    ...over,
  };
}
const mp4: Capability = { kind: 'multiprotocol', afi: 1, safi: 1 };
const mp6: Capability = { kind: 'multiprotocol', afi: 2, safi: 1 };

describe('negotiate', () => {
  it('takes the smaller hold time and a third of it as keepalive (RFC 4271 §4.2)', () => {
    const n = negotiate(open([], { holdTime: 90 }), open([], { holdTime: 10 }));
    expect([n.holdTime, n.keepaliveTime]).toEqual([10, 3]);
    const z = negotiate(open([], { holdTime: 90 }), open([], { holdTime: 0 }));
    expect([z.holdTime, z.keepaliveTime]).toEqual([0, 0]);
  });

  it('intersects multiprotocol families; no capability means IPv4 unicast (RFC 4760 §8)', () => {
    expect(negotiate(open([mp4, mp6]), open([mp6])).families).toEqual(['ipv6-unicast']);
    expect(negotiate(open([mp4, mp6]), open([])).families).toEqual(['ipv4-unicast']);
    expect(negotiate(open([mp6]), open([])).families).toEqual([]);
    expect(negotiate(open([]), open([])).families).toEqual(['ipv4-unicast']);
    // A multiprotocol capability for a family we do not carry still counts as "has MP".
    expect(negotiate(open([mp4]), open([{ kind: 'multiprotocol', afi: 25, safi: 65 }])).families).toEqual([]);
  });

  it('uses the 4-octet AS capability for the peer AS and needs it on both sides for the codec', () => {
    const as4: Capability = { kind: 'fourOctetAs', asn: 4200000000 };
    const n = negotiate(open([{ kind: 'fourOctetAs', asn: 65001 }]), open([as4], { myAsn: 23456 }));
    expect(n.peerAsn).toBe(4200000000);
    expect(n.codec.fourOctetAs).toBe(true);
    const one = negotiate(open([]), open([as4], { myAsn: 23456 }));
    expect(one.codec.fourOctetAs).toBe(false);
    expect(one.peerAsn).toBe(4200000000);
    expect(negotiate(open([]), open([], { myAsn: 64512 })).peerAsn).toBe(64512);
  });

  it('tells the codec whether the peer is external: its AS differs from ours (RFC 4271 §5.1.5)', () => {
    const as = (asn: number): Capability => ({ kind: 'fourOctetAs', asn });
    expect(negotiate(open([as(64512)]), open([as(64513)], { myAsn: 64513 })).codec.ebgp).toBe(true);
    expect(negotiate(open([as(64512)]), open([as(64512)], { myAsn: 64512 })).codec.ebgp).toBe(false);
    // 4-octet ASes that share their low 16 bits, both sent as AS_TRANS in My AS.
    const wide = negotiate(
      open([as(4200000000)], { myAsn: 23456 }),
      open([as(4200065536)], { myAsn: 23456 }),
    );
    expect(wide.codec.ebgp).toBe(true);
    // Without the capability on the peer's side, its My AS field.
    expect(negotiate(open([as(65001)]), open([], { myAsn: 65001 })).codec.ebgp).toBe(false);
    expect(negotiate(open([as(65001)]), open([], { myAsn: 65002 })).codec.ebgp).toBe(true);
  });

  it('extended message and extended next hop need both sides', () => {
    const enh: Capability = { kind: 'extendedNextHop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] };
    const em: Capability = { kind: 'extendedMessage' };
    expect(negotiate(open([em, enh]), open([em, enh])).codec).toMatchObject({
      extendedMessages: true,
      extendedNextHopIpv4: true,
    });
    expect(negotiate(open([em, enh]), open([])).codec).toMatchObject({
      extendedMessages: false,
      extendedNextHopIpv4: false,
    });
  });

  it('derives ADD-PATH send/receive per family from both modes (RFC 7911 §4)', () => {
    const local: Capability = {
      kind: 'addPath',
      entries: [
        { afi: 1, safi: 1, mode: 'both' },
        { afi: 2, safi: 1, mode: 'send' },
      ],
    };
    const remote: Capability = {
      kind: 'addPath',
      entries: [
        { afi: 1, safi: 1, mode: 'send' },
        { afi: 2, safi: 1, mode: 'both' },
      ],
    };
    const n = negotiate(open([mp4, mp6, local]), open([mp4, mp6, remote]));
    expect([...n.codec.addPathReceive]).toEqual(['ipv4-unicast']);
    expect([...n.codec.addPathSend]).toEqual(['ipv6-unicast']);
    // Not for a family that was not negotiated.
    const m = negotiate(open([mp4, local]), open([mp6, remote]));
    expect([...m.codec.addPathReceive, ...m.codec.addPathSend]).toEqual([]);
  });

  it('reports what the peer offers: route refresh (2 or 128), enhanced, graceful restart', () => {
    const gr: Capability = {
      kind: 'gracefulRestart',
      restartState: false,
      notification: true,
      restartTime: 120,
      families: [],
    };
    const n = negotiate(open([]), open([{ kind: 'routeRefresh' }, { kind: 'enhancedRouteRefresh' }, gr]));
    expect(n).toMatchObject({ routeRefresh: true, enhancedRouteRefresh: true, gracefulRestart: gr });
    const none = negotiate(open([{ kind: 'routeRefresh' }, gr]), open([]));
    expect(none.routeRefresh).toBe(false);
    expect(none.gracefulRestart).toBeUndefined();
    expect(none.remoteCapabilities).toEqual([]);
  });

  it('RFC 8538 §2/§4: graceful notification only when both OPENs carry the N bit', () => {
    const gr = (notification: boolean): Capability => ({
      kind: 'gracefulRestart',
      restartState: false,
      notification,
      restartTime: 120,
      families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
    });
    expect(negotiate(open([gr(true)]), open([gr(true)])).gracefulNotification).toBe(true);
    expect(negotiate(open([gr(true)]), open([gr(false)])).gracefulNotification).toBe(false);
    expect(negotiate(open([gr(false)]), open([gr(true)])).gracefulNotification).toBe(false);
    expect(negotiate(open([gr(true)]), open([])).gracefulNotification).toBe(false);
    expect(negotiate(open([]), open([gr(true)])).gracefulNotification).toBe(false);
  });
});
