// The speaker YAML's `bfd`: what reaches PeerConfig, and the errors that name the peer and field.
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
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('speaker YAML: bfd', () => {
  it('hands bfd to the speaker as written, and leaves it out where absent', () => {
    const cfg = parseSpeakerConfig({
      ...base,
      peers: [
        { ...peer, bfd: { minRxMs: 100, minTxMs: 200, multiplier: 5 } },
        { address: '192.0.2.3', asn: 64514, bfd: {} },
        { address: '192.0.2.4', asn: 64515 },
      ],
    });
    expect(cfg.peers[0]?.bfd).toEqual({ minRxMs: 100, minTxMs: 200, multiplier: 5 });
    expect(cfg.peers[1]?.bfd).toEqual({});
    expect(cfg.peers[2]).not.toHaveProperty('bfd');
  });

  it.each([
    [{ minRxMs: 5 }, /peers\[0\]\.bfd\.minRxMs: must be 10\.\.60000 ms/],
    [{ minTxMs: 90_000 }, /peers\[0\]\.bfd\.minTxMs: must be 10\.\.60000 ms/],
    [{ minTxMs: 'fast' }, /peers\[0\]\.bfd\.minTxMs: must be a number of milliseconds/],
    [{ multiplier: 0 }, /peers\[0\]\.bfd\.multiplier: must be 1\.\.255/],
    [{ multiplier: 2.5 }, /peers\[0\]\.bfd\.multiplier: must be an integer/],
    [{ minRx: 300 }, /peers\[0\]\.bfd.*minRx/],
  ])('refuses bfd %j naming the field', (bfd, message) => {
    expect(errorOf([{ ...peer, bfd }])).toMatch(message);
  });
});
