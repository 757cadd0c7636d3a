// The TCP-MD5 diagnosis on its way to the operator: the REST API's peer schema keeps
// PeerStatus.tcpMd5, and `margayctl node status` shows it as the reason a session is not up.
import { describe, expect, it } from 'vitest';
import { shape } from '../../../../src/api/json-schema.ts';
import { peerSchema } from '../../../../src/api/schemas.ts';
import { peerTable } from '../../../../src/ctl/status.ts';
import { peerJson } from './peer-fixture.ts';

const peer = peerJson;

describe('TCP-MD5 mismatch in the peer status', () => {
  it('is kept by the REST API peer schema', () => {
    const shaped = shape(peerSchema, peer({ state: 'Connect', tcpMd5: 'TCP-MD5 mismatch suspected' }));
    expect(shaped).toMatchObject({ state: 'Connect', tcpMd5: 'TCP-MD5 mismatch suspected' });
  });

  it('is the reason margayctl node status gives, before the last error', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    const table = peerTable(
      [
        peer({ state: 'Connect', tcpMd5: 'TCP-MD5 mismatch suspected' }),
        peer({
          address: '192.0.2.3',
          state: 'Active',
          tcpMd5: 'TCP-MD5 mismatch suspected',
          lastError: 'Error: Hold timer expired',
        }),
      ],
      4,
      now,
    );
    expect(table).toMatch(/\| Connect: TCP-MD5 mismatch suspected +\|/);
    expect(table).toContain('| Active: TCP-MD5 mismatch suspected; Error: Hold timer expired |');
  });
});
