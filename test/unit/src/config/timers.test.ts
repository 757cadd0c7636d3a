// One rule for BGP timers: the speaker YAML, the margay.io resources (BGPConfiguration and a
// BGPPeer with its own holdTime) and the FSM accept exactly the same hold time / keepalive time
// pairs, and each refusal names the field. Every pair of a grid around the rule's edges is tried
// in all four, so a schema that drifts from the FSM fails here.
import { describe, expect, it } from 'vitest';
import { resolveFsmConfig } from '../../../../bgp/fsm/index.ts';
import { parseSpeakerConfig } from '../../../../src/config/speaker.ts';
import { validateResource } from '../../../../src/model/resource.ts';

const HOLDS = [0, 1, 2, 3, 4, 5, 6, 9, 10, 30, 89, 90, 91, 65534, 65535, 65536, -1, 7.5];
const KEEPALIVES = [undefined, 0, 1, 2, 3, 4, 9, 10, 29, 30, 31, 21844, 21845, 21846, -1, 1.5];

function yamlAccepts(holdTime: number, keepaliveTime: number | undefined): boolean {
  try {
    parseSpeakerConfig({
      asn: 64512,
      routerId: '192.0.2.1',
      peers: [
        {
          address: '192.0.2.2',
          asn: 64513,
          holdTime,
          ...(keepaliveTime !== undefined ? { keepaliveTime } : {}),
        },
      ],
    });
    return true;
  } catch {
    return false;
  }
}

function fsmAccepts(holdTime: number, keepaliveTime: number | undefined): boolean {
  try {
    resolveFsmConfig({ holdTime, ...(keepaliveTime !== undefined ? { keepaliveTime } : {}) });
    return true;
  } catch {
    return false;
  }
}

function resourceProblems(
  kind: 'BGPConfiguration' | 'BGPPeer',
  spec: Record<string, unknown>,
): readonly string[] {
  const obj =
    kind === 'BGPConfiguration'
      ? { apiVersion: 'margay.io/v1', kind, metadata: { name: 'default' }, spec }
      : {
          apiVersion: 'margay.io/v1',
          kind,
          metadata: { name: 'tor-1' },
          spec: { peerIP: '192.0.2.9', asNumber: 65001, ...spec },
        };
  const r = validateResource(obj);
  return r.ok ? [] : r.problems;
}

describe('the BGP timer rule', () => {
  it('the speaker YAML, both resources and the FSM agree on every pair', () => {
    let accepted = 0;
    for (const holdTime of HOLDS)
      for (const keepaliveTime of KEEPALIVES) {
        const spec = { holdTime, ...(keepaliveTime !== undefined ? { keepaliveTime } : {}) };
        const fsm = fsmAccepts(holdTime, keepaliveTime);
        const pair = JSON.stringify(spec);
        expect(yamlAccepts(holdTime, keepaliveTime), `YAML ${pair}`).toBe(fsm);
        for (const kind of ['BGPConfiguration', 'BGPPeer'] as const) {
          const problems = resourceProblems(kind, spec);
          expect(problems.length === 0, `${kind} ${pair}: ${problems.join('; ')}`).toBe(fsm);
          for (const p of problems)
            expect(p).toMatch(/^(BGPConfiguration default|BGPPeer tor-1): spec\.(holdTime|keepaliveTime): /);
        }
        if (fsm) accepted++;
      }
    // The grid has both sides of every edge of the rule.
    expect(accepted).toBeGreaterThan(20);
    expect(accepted).toBeLessThan((HOLDS.length * KEEPALIVES.length) / 2);
  });

  it('spells the rule out: the field, the value and what it must be', () => {
    expect(resourceProblems('BGPPeer', { holdTime: 90, keepaliveTime: 0 })).toEqual([
      'BGPPeer tor-1: spec.keepaliveTime: 0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4)',
    ]);
    expect(resourceProblems('BGPConfiguration', { holdTime: 1 })).toEqual([
      'BGPConfiguration default: spec.holdTime: must be 0 or 3..65535 seconds (RFC 4271 §4.2)',
    ]);
    expect(() =>
      parseSpeakerConfig({
        asn: 64512,
        routerId: '192.0.2.1',
        peers: [{ address: '192.0.2.2', asn: 64513, holdTime: 90, keepaliveTime: 31 }],
      }),
    ).toThrow(
      'peers[0].keepaliveTime: 31 is more than holdTime / 3; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4, §10)',
    );
  });
});
