// PeerConfig.gracefulRestart as the speaker checks it: the ranges of the capability fields, and
// errors that name the peer and the field.
import { describe, expect, it } from 'vitest';
import { peerProblem, resolvePeers } from '../../../../bgp/speaker/peer-config.ts';
import type { PeerConfig } from '../../../../bgp/speaker/types.ts';

const peer: PeerConfig = { address: '192.0.2.2', asn: 64513 };

describe('PeerConfig.gracefulRestart', () => {
  it('takes both ends of each range', () => {
    expect(() =>
      resolvePeers([
        { ...peer, gracefulRestart: { restartTime: 0, longLivedStaleTime: 0 } },
        {
          address: '192.0.2.3',
          asn: 64513,
          gracefulRestart: { restartTime: 4095, longLivedStaleTime: 16777215 },
        },
      ]),
    ).not.toThrow();
  });

  it('refuses a value out of range or not an integer, naming the peer and the field', () => {
    expect(() =>
      resolvePeers([peer, { address: '192.0.2.3', asn: 64513, gracefulRestart: { restartTime: 4096 } }]),
    ).toThrow('peers[1].gracefulRestart.restartTime: 4096 is not in 0..4095 seconds (RFC 4724 §3)');
    expect(peerProblem({ ...peer, gracefulRestart: { restartTime: 1.5 } })).toEqual({
      field: 'gracefulRestart.restartTime',
      message: '1.5 is not in 0..4095 seconds (RFC 4724 §3)',
    });
    expect(peerProblem({ ...peer, gracefulRestart: { longLivedStaleTime: -1 } })).toEqual({
      field: 'gracefulRestart.longLivedStaleTime',
      message: '-1 is not in 0..16777215 seconds (RFC 9494 §2)',
    });
  });
});
