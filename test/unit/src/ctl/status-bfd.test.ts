// BFD on its way to the operator: the REST API's peer schema keeps PeerStatus.bfd,
// `margayctl node status -o wide` shows it in a BFD column, and /metrics counts it.
import { describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../../../bgp/index.ts';
import { shape } from '../../../../src/api/json-schema.ts';
import { peerSchema } from '../../../../src/api/schemas.ts';
import { speakerMetrics } from '../../../../src/cli/speaker.ts';
import { peerTable } from '../../../../src/ctl/status.ts';
import { peerJson } from './peer-fixture.ts';

const bfdUp = {
  state: 'Up',
  remoteState: 'Up',
  diag: 'none',
  remoteDiag: 'none',
  minTxMs: 100,
  minRxMs: 100,
  multiplier: 3,
  remoteMinTxMs: 300,
  remoteMinRxMs: 100,
  remoteMultiplier: 3,
  txIntervalMs: 100,
  detectionTimeMs: 900,
  ups: 2,
  downs: 1,
  failures: 1,
  damping: { level: 1, heldDownMs: 0, holds: 0 },
} as const;

const peer = peerJson;

describe('BFD in the peer status', () => {
  it('is kept whole by the REST API peer schema', () => {
    expect(shape(peerSchema, peer({ bfd: bfdUp }))).toMatchObject({ bfd: bfdUp });
    const failed = { state: 'Unavailable', error: 'BFD bind(any:3784): EADDRINUSE' } as const;
    expect(shape(peerSchema, peer({ bfd: failed }))).toMatchObject({ bfd: failed });
  });

  it('has a column in margayctl node status -o wide only', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    const peers = [
      peer({ bfd: bfdUp }),
      peer({
        address: '192.0.2.3',
        state: 'Active',
        bfd: {
          ...bfdUp,
          state: 'Down',
          remoteState: 'Down',
          diag: 'controlDetectionTimeExpired',
          downs: 2,
          failures: 2,
        },
      }),
      peer({
        address: '192.0.2.6',
        state: 'Established',
        bfd: {
          ...bfdUp,
          state: 'Down',
          remoteState: 'Init',
          diag: 'controlDetectionTimeExpired',
          downs: 5,
          failures: 4,
          damping: { level: 4, heldDownMs: 7_200, holds: 3 },
        },
      }),
      peer({ address: '192.0.2.4', bfd: { state: 'Unavailable', error: 'no koffi' } }),
      peer({ address: '192.0.2.5' }),
    ];
    const wide = peerTable(peers, 4, now, true).split('\n');
    const row = (address: string) => wide.find((l) => l.includes(`| ${address} `)) ?? '';
    expect(wide.find((l) => l.includes('PEER ADDRESS'))).toMatch(/ADVERTISED \| +BFD +\|$/);
    expect(row('192.0.2.2')).toMatch(/\| Up 100ms×3, 1 flap +\|$/);
    expect(row('192.0.2.3')).toMatch(/\| Down \(controlDetectionTimeExpired\), 2 flaps +\|$/);
    expect(row('192.0.2.6')).toMatch(/\| Down \(controlDetectionTimeExpired\), damped 8s, 4 flaps +\|$/);
    expect(row('192.0.2.4')).toMatch(/\| unavailable: no koffi +\|$/);
    expect(row('192.0.2.5')).toMatch(/\| - +\|$/);
    expect(peerTable(peers, 4, now)).not.toContain('BFD');
  });

  it('is in /metrics: up, downs, flaps, damping and intervals per peer, for peers with BFD only', () => {
    const status = (address: string, bfd?: PeerStatus['bfd']) =>
      ({ ...peer({ address, ...(bfd !== undefined && { bfd }) }), since: 0 }) as PeerStatus;
    const families = speakerMetrics([
      status('192.0.2.2', bfdUp),
      status('192.0.2.3', {
        ...bfdUp,
        state: 'Init',
        downs: 4,
        failures: 3,
        damping: { level: 3, heldDownMs: 1500, holds: 2 },
      }),
      status('192.0.2.4'),
      status('192.0.2.5', { state: 'Unavailable', error: 'no koffi' }),
    ]);
    const samples = (name: string) => families.find((f) => f.name === name)?.samples;
    expect(samples('margay_bfd_session_flaps_total')).toEqual([
      { labels: { peer: '192.0.2.2' }, value: 1 },
      { labels: { peer: '192.0.2.3' }, value: 3 },
    ]);
    expect(samples('margay_bfd_session_damped')).toEqual([
      { labels: { peer: '192.0.2.2' }, value: 0 },
      { labels: { peer: '192.0.2.3' }, value: 1 },
    ]);
    expect(samples('margay_bfd_tx_interval_seconds')?.[0]).toEqual({
      labels: { peer: '192.0.2.2' },
      value: 0.1,
    });
    expect(samples('margay_bfd_detection_time_seconds')?.[0]).toEqual({
      labels: { peer: '192.0.2.2' },
      value: 0.9,
    });
    const up = families.find((f) => f.name === 'margay_bfd_session_up');
    const downs = families.find((f) => f.name === 'margay_bfd_session_down_total');
    expect(up?.samples).toEqual([
      { labels: { peer: '192.0.2.2' }, value: 1 },
      { labels: { peer: '192.0.2.3' }, value: 0 },
      { labels: { peer: '192.0.2.5' }, value: 0 },
    ]);
    expect(downs?.type).toBe('counter');
    expect(downs?.samples).toEqual([
      { labels: { peer: '192.0.2.2' }, value: 1 },
      { labels: { peer: '192.0.2.3' }, value: 4 },
    ]);
  });
});
