// Graceful-restart state on its way to the operator: the REST API's peer schema keeps
// PeerStatus.llgrNegotiated and staleRoutes, `margayctl node status` counts the kept routes and
// /metrics has them per peer.
import { describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../../../bgp/index.ts';
import { shape } from '../../../../src/api/json-schema.ts';
import { peerSchema } from '../../../../src/api/schemas.ts';
import { speakerMetrics } from '../../../../src/cli/speaker.ts';
import { type PeerJson, peerTable } from '../../../../src/ctl/status.ts';
import { peerJson } from './peer-fixture.ts';

const peer = (over: Partial<PeerJson>): PeerJson =>
  peerJson({ families: ['ipv4-unicast', 'ipv6-unicast'], ...over });

describe('graceful restart and LLGR in the peer status', () => {
  const stale = { routes: 4, restarting: ['ipv6-unicast' as const], longLived: ['ipv4-unicast' as const] };

  it('is kept by the REST API peer schema', () => {
    const shaped = shape(peerSchema, peer({ state: 'Active', llgrNegotiated: true, staleRoutes: stale }));
    expect(shaped).toMatchObject({ llgrNegotiated: true, staleRoutes: stale });
  });

  it('margayctl node status counts the kept routes per phase after the reason', () => {
    const table = peerTable(
      [
        peer({ state: 'Active', lastError: 'Connection closed: closed by peer', staleRoutes: stale }),
        peer({
          address: '192.0.2.3',
          staleRoutes: { routes: 1, restarting: [], longLived: ['ipv4-unicast'] },
        }),
        peer({ address: '192.0.2.4' }),
      ],
      4,
      new Date('2026-11-21T12:00:00Z'),
    );
    expect(table).toContain(
      '| Active: Connection closed: closed by peer; 4 stale routes kept (restart: ipv6-unicast, long-lived: ipv4-unicast) |',
    );
    expect(table).toContain('| Established; 1 stale route kept (long-lived: ipv4-unicast) ');
    expect(table).toMatch(/\| Established +\|/);
  });

  it('/metrics has the kept routes per peer, 0 without', () => {
    // PeerStatus as the speaker returns it: `since` in ms since the epoch.
    const status = (over: Partial<PeerJson>): PeerStatus => {
      const { prefixLimit: _none, ...json } = peer(over);
      return { ...json, since: 0 };
    };
    const family = speakerMetrics([status({ staleRoutes: stale }), status({ address: '192.0.2.3' })]).find(
      (f) => f.name === 'margay_bgp_stale_routes',
    );
    expect(family?.samples).toEqual([
      { labels: { peer: '192.0.2.2' }, value: 4 },
      { labels: { peer: '192.0.2.3' }, value: 0 },
    ]);
  });
});
