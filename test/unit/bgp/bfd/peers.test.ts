// PeerConfig.bfd: what the speaker accepts, and the field a refusal names.
import { describe, expect, it } from 'vitest';
import { bfdProblem } from '../../../../bgp/bfd/peers.ts';
import { peerProblem } from '../../../../bgp/speaker/peer-config.ts';

describe('PeerConfig.bfd', () => {
  it('accepts presence alone and each field in range', () => {
    expect(bfdProblem(undefined)).toBeUndefined();
    expect(bfdProblem({})).toBeUndefined();
    expect(bfdProblem({ minRxMs: 10, minTxMs: 60_000, multiplier: 255 })).toBeUndefined();
    expect(
      peerProblem({ address: '192.0.2.1', asn: 65000, bfd: { minRxMs: 100, multiplier: 1 } }),
    ).toBeUndefined();
  });

  it.each([
    [{ minTxMs: 9 }, '.minTxMs', /9 is not in 10\.\.60000 ms/],
    [{ minRxMs: 60_001 }, '.minRxMs', /60001 is not in/],
    [{ minRxMs: 100.5 }, '.minRxMs', /100.5 is not in/],
    [{ minTxMs: '300' }, '.minTxMs', /300 is not in/],
    [{ multiplier: 0 }, '.multiplier', /0 is not in 1\.\.255/],
    [{ multiplier: 256 }, '.multiplier', /256 is not in 1\.\.255/],
    [{ minRx: 300 }, '.minRx', /not a BFD setting/],
    [true, '', /not an object/],
    [[], '', /not an object/],
  ])('refuses %j naming bfd%s', (bfd, field, message) => {
    const problem = bfdProblem(bfd);
    expect(problem?.field).toBe(field);
    expect(problem?.message).toMatch(message);
    const peer = peerProblem({ address: '192.0.2.1', asn: 65000, bfd: bfd as never });
    expect(peer?.field).toBe(`bfd${field}`);
  });
});
