// What Speaker.setPeers and setLocalRoutes refuse, naming the peer or route and the field, and
// that a refused set changes nothing: the peers and routes in force stay, on the wire too.
import { afterEach, describe, expect, test } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import { localRouteProblem } from '../../../../bgp/speaker/local-routes.ts';
import { peerKey, peerProblem } from '../../../../bgp/speaker/peer-config.ts';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { LocalRoute, PeerConfig } from '../../../../bgp/speaker/types.ts';
import { portOf, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

afterEach(stopAll);

function thrown(f: () => void): BgpError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BgpError);
    return e as BgpError;
  }
  throw new Error('expected a BgpError');
}

describe('setLocalRoutes: values that do not fit their attribute', () => {
  const bad: [Partial<LocalRoute>, string][] = [
    [{ med: 2 ** 32 }, 'med: 4294967296 is not an integer 0..4294967295'],
    [{ med: -1 }, 'med: -1 is not an integer 0..4294967295'],
    [{ localPref: 1.5 }, 'localPref: 1.5 is not an integer 0..4294967295'],
    [
      { communities: [65000 * 65536 + 1, 2 ** 32] },
      'communities[1]: 4294967296 is not a 32-bit community value',
    ],
    [
      { largeCommunities: [{ globalAdmin: 64512, localData1: -1, localData2: 0 }] },
      'largeCommunities[0].localData1: -1 is not an integer 0..4294967295',
    ],
    [
      { extendedCommunities: [1n << 64n] },
      'extendedCommunities[0]: 18446744073709551616 is not a 64-bit value',
    ],
    [{ origin: 3 as LocalRoute['origin'] }, 'origin: 3 is not 0 (IGP), 1 (EGP) or 2 (incomplete)'],
  ];
  for (const [fields, message] of bad) {
    test(`refuses ${message.slice(0, message.indexOf(':'))}`, () => {
      const speaker = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: null });
      speaker.setLocalRoutes([{ prefix: '10.244.1.0/24' }]);
      const e = thrown(() =>
        speaker.setLocalRoutes([{ prefix: '10.244.2.0/24' }, { prefix: '10.244.3.0/24', ...fields }]),
      );
      expect(e.code).toBe('BGP_ERR_INVALID_CONFIG');
      expect(e.message).toBe(`local route 10.244.3.0/24: ${message}`);
      expect(speaker.routes({ peer: 'local' }).map((r) => r.prefix)).toEqual(['10.244.1.0/24']);
    });
  }

  test('accepts the largest value of every field', () => {
    const top: LocalRoute = {
      prefix: '10.244.1.0/24',
      med: 2 ** 32 - 1,
      localPref: 2 ** 32 - 1,
      communities: [2 ** 32 - 1],
      largeCommunities: [{ globalAdmin: 2 ** 32 - 1, localData1: 2 ** 32 - 1, localData2: 2 ** 32 - 1 }],
      extendedCommunities: [(1n << 64n) - 1n],
      origin: 2,
    };
    expect(localRouteProblem(top)).toBeUndefined();
  });

  test('a refused set leaves the announced routes at the peer as they were', async () => {
    const b = await startSpeaker({ asn: 64512, routerId: '192.0.2.2' });
    const a = await startSpeaker({ asn: 64512, routerId: '192.0.2.1' });
    b.setPeers([{ address: '127.0.0.1', asn: 64512, passive: true }]);
    a.setPeers([{ address: '127.0.0.1', asn: 64512, port: portOf(b) }]);
    await waitFor(() => stateOf(a) === 'Established' && stateOf(b) === 'Established', 'Established');
    a.setLocalRoutes([{ prefix: '10.244.1.0/24', med: 2 ** 32 - 1 }]);
    await waitFor(() => b.routes().length === 1, 'the route at B');
    expect(b.routes()[0]).toMatchObject({ prefix: '10.244.1.0/24', med: 2 ** 32 - 1 });

    expect(() =>
      a.setLocalRoutes([{ prefix: '10.244.1.0/24', med: 2 ** 32 }, { prefix: '10.244.2.0/24' }]),
    ).toThrow('local route 10.244.1.0/24: med: 4294967296');
    // A later valid change still goes out, so the session and the RIB were left intact.
    a.setLocalRoutes([{ prefix: '10.244.1.0/24', med: 7 }, { prefix: '10.244.2.0/24' }]);
    await waitFor(
      () => b.routes().length === 2 && b.routes({ prefix: '10.244.1.0/24' })[0]?.med === 7,
      'both',
    );
    expect(b.routes().map((r) => r.prefix)).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
  });
});

describe('setPeers: the timer rule', () => {
  const base: PeerConfig = { address: '192.0.2.9', asn: 64513 };
  const cases: [Partial<PeerConfig>, string, string][] = [
    [
      { holdTime: 90, keepaliveTime: 0 },
      'keepaliveTime',
      '0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds',
    ],
    [
      { keepaliveTime: 0 },
      'keepaliveTime',
      '0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds',
    ],
    [{ holdTime: 90, keepaliveTime: 31 }, 'keepaliveTime', '31 is more than holdTime / 3'],
    [{ holdTime: 0, keepaliveTime: 10 }, 'keepaliveTime', '10 with holdTime 0: must be 0'],
    [{ holdTime: 2 }, 'holdTime', 'must be 0 or 3..65535 seconds (RFC 4271 §4.2)'],
  ];
  for (const [fields, field, message] of cases) {
    test(`${JSON.stringify(fields)}: peers[1].${field}`, () => {
      const speaker = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: null });
      speaker.setPeers([{ address: '192.0.2.8', asn: 64513 }]);
      const e = thrown(() =>
        speaker.setPeers([
          { address: '192.0.2.8', asn: 64513 },
          { ...base, ...fields },
        ]),
      );
      expect(e.code).toBe('BGP_ERR_INVALID_CONFIG');
      expect(e.message).toContain(`peers[1].${field}: ${message}`);
      expect(peerProblem({ ...base, ...fields })).toEqual({
        field,
        message: expect.stringContaining(message),
      });
      expect(speaker.peers().map((p) => p.address)).toEqual(['192.0.2.8']);
    });
  }

  test('what peerProblem accepts, setPeers accepts; peerKey is the address it keys peers by', () => {
    const ok: PeerConfig[] = [
      { ...base, holdTime: 0, keepaliveTime: 0 },
      { address: '2001:DB8::9', asn: 64513, holdTime: 3, keepaliveTime: 1 },
      { address: '192.0.2.10', asn: 64513, holdTime: 90, keepaliveTime: 30 },
    ];
    for (const p of ok) expect(peerProblem(p)).toBeUndefined();
    const speaker = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: null });
    speaker.setPeers(ok);
    expect(
      speaker
        .peers()
        .map((p) => p.address)
        .sort(),
    ).toEqual(ok.map((p) => peerKey(p.address)).sort());
    expect(peerKey('::ffff:192.0.2.9')).toBe(peerKey('192.0.2.9'));
    expect(() => speaker.setPeers([...ok, { ...base, address: '::ffff:192.0.2.9' }])).toThrow(
      'peers[3].address: 192.0.2.9 is configured twice',
    );
  });
});
