// One peer as the REST API reports it, for the margayctl tests: an established eBGP IPv4 peer
// with no traffic; each test overrides what it is about.
import type { PeerJson } from '../../../../src/ctl/status.ts';

export const peerJson = (over: Partial<PeerJson>): PeerJson => ({
  address: '192.0.2.2',
  asn: 64513,
  type: 'ebgp',
  routeReflectorClient: false,
  state: 'Established',
  since: '2026-11-21T10:11:12.000Z',
  holdTime: 90,
  keepalive: 30,
  capabilities: { local: [], remote: [] },
  families: ['ipv4-unicast'],
  prefixes: { received: 0, accepted: 0, advertised: 0 },
  messages: { in: 0, out: 0, updatesIn: 0, updatesOut: 0 },
  ...over,
});
