// BGPPeer spec.longLivedStaleTime (RFC 9494, a duration or whole seconds): the model's range and errors, and
// the calculation handing it to the speaker's peers as gracefulRestart.longLivedStaleTime, next
// to maxRestartTime.
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { bgpConfig, bgpPeer, flatNodes, snap, validateTorPeer } from './fixtures.ts';

describe('long-lived graceful restart from BGPPeer', () => {
  it('reaches the peer of a router and of selected nodes, with maxRestartTime or alone', () => {
    const st = calculate(
      snap(
        ...flatNodes(2),
        bgpConfig({ nodeToNodeMeshEnabled: false }),
        bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, maxRestartTime: 0, longLivedStaleTime: 3600 }),
        bgpPeer('nodes', { peerSelector: 'all()', longLivedStaleTime: 60 }),
      ),
      { name: 'node-1' },
    );
    expect(st.problems).toEqual([]);
    expect(Object.fromEntries(st.peers.map((p) => [p.address, p.gracefulRestart]))).toEqual({
      '192.0.2.1': { restartTime: 0, longLivedStaleTime: 3600 },
      '192.0.2.12': { longLivedStaleTime: 60 },
    });
  });

  it('takes durations and whole seconds, refuses values outside 0..16777215, naming the field', () => {
    const peer = (longLivedStaleTime: unknown) => validateTorPeer({ longLivedStaleTime });
    expect(peer(16777215).ok).toBe(true);
    expect(peer('1h')).toMatchObject({ ok: true, resource: { spec: { longLivedStaleTime: 3600 } } });
    const range = 'must be 0..16777215 seconds (RFC 9494: the stale time is a 24-bit count of seconds)';
    expect(peer(16777216)).toEqual({
      ok: false,
      problems: [`BGPPeer tor: spec.longLivedStaleTime: ${range}`],
    });
    expect(peer('4700h')).toEqual({
      ok: false,
      problems: [`BGPPeer tor: spec.longLivedStaleTime: "4700h" is 16920000 s: ${range}`],
    });
  });
});
