// BGPPeer spec.maxRestartTime and BGPConfiguration spec.nodeMeshMaxRestartTime (Calico's fields,
// durations or whole seconds): the model's range and errors, and the calculation handing them to the
// speaker's peers as gracefulRestart.restartTime (router, selected nodes, the mesh).
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { bgpConfig, bgpPeer, flatNodes, snap, validateBgpConfig, validateTorPeer } from './fixtures.ts';

const restartTimes = (st: ReturnType<typeof calculate>) =>
  Object.fromEntries(st.peers.map((p) => [p.address, p.gracefulRestart?.restartTime]));

describe('graceful restart times from the margay.io resources', () => {
  it('BGPPeer maxRestartTime reaches the peer of a router and of selected nodes', () => {
    const st = calculate(
      snap(
        ...flatNodes(3),
        bgpConfig({ nodeToNodeMeshEnabled: false }),
        bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, maxRestartTime: 300 }),
        bgpPeer('nodes', { peerSelector: 'all()', maxRestartTime: 0 }),
      ),
      { name: 'node-1' },
    );
    expect(st.problems).toEqual([]);
    expect(restartTimes(st)).toEqual({ '192.0.2.1': 300, '192.0.2.12': 0, '192.0.2.13': 0 });
  });

  it('nodeMeshMaxRestartTime applies to the mesh only', () => {
    const st = calculate(
      snap(
        ...flatNodes(2),
        bgpConfig({ nodeMeshMaxRestartTime: 600 }),
        bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 }),
      ),
      { name: 'node-1' },
    );
    expect(st.problems).toEqual([]);
    expect(restartTimes(st)).toEqual({ '192.0.2.1': undefined, '192.0.2.12': 600 });
  });

  it('is absent unless set (the speaker default applies)', () => {
    const st = calculate(snap(...flatNodes(2), bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 })), {
      name: 'node-1',
    });
    for (const p of st.peers) expect(p).not.toHaveProperty('gracefulRestart');
  });

  it('takes Calico durations and whole seconds, refuses values outside 0..4095, naming the field', () => {
    const peer = (maxRestartTime: unknown) => validateTorPeer({ maxRestartTime });
    expect(peer(4095).ok).toBe(true);
    expect(peer('2m')).toMatchObject({ ok: true, resource: { spec: { maxRestartTime: 120 } } });
    expect(peer('1h8m15s')).toMatchObject({ ok: true, resource: { spec: { maxRestartTime: 4095 } } });
    const range = 'must be 0..4095 seconds (RFC 4724: the restart time is a 12-bit count of seconds)';
    expect(peer(4096)).toEqual({ ok: false, problems: [`BGPPeer tor: spec.maxRestartTime: ${range}`] });
    expect(peer('2h')).toEqual({
      ok: false,
      problems: [`BGPPeer tor: spec.maxRestartTime: "2h" is 7200 s: ${range}`],
    });
    expect(peer(1.5)).toEqual({
      ok: false,
      problems: [
        `BGPPeer tor: spec.maxRestartTime: 1.5 is not a whole number of seconds; ${range}, or a duration string (e.g. "120s", "2m", "1h30m" or "500ms")`,
      ],
    });
    expect(peer('120')).toEqual({
      ok: false,
      problems: [
        'BGPPeer tor: spec.maxRestartTime: "120" has a number without a unit (ns, us, µs, ms, s, m, h); write e.g. "120s"',
      ],
    });
    const config = validateBgpConfig({ nodeMeshMaxRestartTime: -1 });
    expect(config).toEqual({
      ok: false,
      problems: [
        'BGPConfiguration default: spec.nodeMeshMaxRestartTime: must be 0..4095 seconds (RFC 4724: the restart time is a 12-bit count of seconds)',
      ],
    });
  });
});
