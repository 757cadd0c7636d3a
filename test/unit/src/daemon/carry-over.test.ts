// When a restarted agent has BGP back (bgpSynced, src/daemon/carry-over.ts): the routes it carried
// over are released only once every wanted peer is Established with End-of-RIB in every family.
import { describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../../../bgp/speaker/types.ts';
import { bgpSynced } from '../../../../src/daemon/carry-over.ts';

function peer(address: string, over: Partial<PeerStatus> = {}): PeerStatus {
  return {
    address,
    asn: 64512,
    type: 'ibgp',
    routeReflectorClient: false,
    state: 'Established',
    since: 0,
    holdTime: 90,
    keepalive: 30,
    capabilities: { local: [], remote: [] },
    families: ['ipv4-unicast', 'ipv6-unicast'],
    prefixes: { received: 0, accepted: 0, advertised: 0 },
    endOfRibReceived: ['ipv4-unicast', 'ipv6-unicast'],
    messages: { in: 0, out: 0, updatesIn: 0, updatesOut: 0 },
    ...over,
  };
}

describe('bgpSynced', () => {
  it('holds when every wanted peer sent End-of-RIB in every family', () => {
    expect(bgpSynced([peer('192.0.2.2'), peer('192.0.2.3')], 2)).toBe(true);
  });

  it('waits for the speaker and for the peers the calculation wants', () => {
    expect(bgpSynced(undefined, 0)).toBe(false);
    // The first pass runs before the peers are handed over: none yet is not "all synced".
    expect(bgpSynced([], 2)).toBe(false);
    expect(bgpSynced([peer('192.0.2.2')], 2)).toBe(false);
  });

  it('waits for a peer not Established or missing one family End-of-RIB', () => {
    expect(bgpSynced([peer('192.0.2.2'), peer('192.0.2.3', { state: 'OpenConfirm' })], 2)).toBe(false);
    expect(bgpSynced([peer('192.0.2.2', { endOfRibReceived: ['ipv4-unicast'] })], 1)).toBe(false);
    expect(bgpSynced([peer('192.0.2.2', { endOfRibReceived: undefined })], 1)).toBe(false);
  });

  it('a node with no peers at all has nothing to wait for', () => {
    expect(bgpSynced([], 0)).toBe(true);
  });
});
