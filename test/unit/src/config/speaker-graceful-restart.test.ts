// The speaker YAML's per-peer gracefulRestart: what reaches PeerConfig, and the errors that name
// the peer and the field.
import { describe, expect, it } from 'vitest';
import { parseSpeakerConfig } from '../../../../src/config/speaker.ts';
import { MargayError } from '../../../../src/errors.ts';

const base = { asn: 64512, routerId: '192.0.2.1' };
const peer = { address: '192.0.2.2', asn: 64513 };

function errorOf(peers: object[]): string {
  try {
    parseSpeakerConfig({ ...base, peers }, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(MargayError);
    expect((err as MargayError).code).toBe('MARGAY_ERR_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('speaker YAML: gracefulRestart per peer', () => {
  it('hands restartTime and longLivedStaleTime to the speaker, absent when not written', () => {
    const cfg = parseSpeakerConfig({
      ...base,
      peers: [
        { ...peer, gracefulRestart: { restartTime: 300, longLivedStaleTime: 86400 } },
        { address: '192.0.2.3', asn: 64514, gracefulRestart: { restartTime: 0 } },
        { address: '192.0.2.4', asn: 64515 },
      ],
    });
    expect(cfg.peers[0]?.gracefulRestart).toEqual({ restartTime: 300, longLivedStaleTime: 86400 });
    expect(cfg.peers[1]?.gracefulRestart).toEqual({ restartTime: 0 });
    expect(cfg.peers[2]).not.toHaveProperty('gracefulRestart');
  });

  it('accepts both ends of each range', () => {
    const cfg = parseSpeakerConfig({
      ...base,
      peers: [{ ...peer, gracefulRestart: { restartTime: 4095, longLivedStaleTime: 16777215 } }],
    });
    expect(cfg.peers[0]?.gracefulRestart).toEqual({ restartTime: 4095, longLivedStaleTime: 16777215 });
  });

  it('names the peer and field of a value out of range', () => {
    expect(
      errorOf([peer, { address: '192.0.2.3', asn: 64514, gracefulRestart: { restartTime: 4096 } }]),
    ).toBe('test.yaml: peers[1].gracefulRestart.restartTime: must be 0..4095 seconds (RFC 4724)');
    expect(errorOf([{ ...peer, gracefulRestart: { restartTime: -1 } }])).toBe(
      'test.yaml: peers[0].gracefulRestart.restartTime: must be 0..4095 seconds (RFC 4724)',
    );
    expect(errorOf([{ ...peer, gracefulRestart: { longLivedStaleTime: 16777216 } }])).toBe(
      'test.yaml: peers[0].gracefulRestart.longLivedStaleTime: must be 0..16777215 seconds (RFC 9494)',
    );
  });

  it('refuses fractions, strings and unknown keys', () => {
    expect(errorOf([{ ...peer, gracefulRestart: { restartTime: 1.5 } }])).toBe(
      'test.yaml: peers[0].gracefulRestart.restartTime: must be an integer',
    );
    expect(errorOf([{ ...peer, gracefulRestart: { restartTime: '120s' } }])).toBe(
      'test.yaml: peers[0].gracefulRestart.restartTime: must be a number of seconds',
    );
    expect(errorOf([{ ...peer, gracefulRestart: { restarttime: 120 } }])).toMatch(
      /^test\.yaml: peers\[0\]\.gracefulRestart: .*restarttime/,
    );
  });
});
