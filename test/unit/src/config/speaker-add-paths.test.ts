// `addPaths` (RFC 7911 ADD-PATH) from the speaker YAML to the OPEN: what reaches PeerConfig, the
// capability it puts in the OPEN, the errors that name the peer and field, and the speaker's own
// check of the field (which the agent's peers pass through too).
import { describe, expect, it } from 'vitest';
import { peerProblem } from '../../../../bgp/index.ts';
import { buildLocalOpen } from '../../../../bgp/session/local-open.ts';
import { negotiate } from '../../../../bgp/wire/negotiate.ts';
import type { AddPathMode, Family } from '../../../../bgp/wire/types.ts';
import { parseSpeakerConfig } from '../../../../src/config/speaker.ts';
import { MargayError } from '../../../../src/errors.ts';

const base = { asn: 64512, routerId: '192.0.2.1' };
const peer = { address: '192.0.2.2', asn: 64512 };

function errorOf(peers: object[]): string {
  try {
    parseSpeakerConfig({ ...base, peers }, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(MargayError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

function open(families: readonly Family[], addPaths?: AddPathMode) {
  return buildLocalOpen({
    asn: 64512,
    routerId: '192.0.2.1',
    holdTime: 90,
    families,
    isIpv6Transport: false,
    gracefulRestartTime: 0,
    forwardingPreserved: false,
    isRestarting: false,
    gracefulNotification: false,
    ...(addPaths !== undefined && { addPaths }),
  });
}

describe('speaker YAML: addPaths', () => {
  it('hands addPaths to the speaker as written, and leaves it out where absent', () => {
    const cfg = parseSpeakerConfig({
      ...base,
      peers: [
        { ...peer, addPaths: 'send' },
        { address: '192.0.2.3', asn: 64512, addPaths: 'receive' },
        { address: '192.0.2.4', asn: 64512, addPaths: 'both' },
        { address: '192.0.2.5', asn: 64512 },
      ],
    });
    expect(cfg.peers.map((p) => p.addPaths)).toEqual(['send', 'receive', 'both', undefined]);
    expect(cfg.peers[3]).not.toHaveProperty('addPaths');
  });

  it.each([
    ['tx', /test\.yaml: peers\[0\]\.addPaths: "tx" is not one of send, receive, both/],
    [true, /peers\[0\]\.addPaths: true is not one of send, receive, both/],
    ['', /peers\[0\]\.addPaths: "" is not one of/],
  ])('refuses addPaths %j naming the field', (value, message) => {
    expect(errorOf([{ ...peer, addPaths: value }])).toMatch(message);
  });

  it('the speaker refuses a bad value naming the field, for that peer only', () => {
    expect(peerProblem({ ...peer, addPaths: 'all' as AddPathMode })).toEqual({
      field: 'addPaths',
      message: 'all is not one of send, receive, both',
    });
    expect(peerProblem({ ...peer, addPaths: 'both' })).toBeUndefined();
  });
});

describe('ADD-PATH capability in the OPEN (RFC 7911 §4)', () => {
  it('one entry per family with the configured mode; none without addPaths', () => {
    const caps = open(['ipv4-unicast', 'ipv6-unicast'], 'send').capabilities;
    expect(caps.find((c) => c.kind === 'addPath')).toEqual({
      kind: 'addPath',
      entries: [
        { afi: 1, safi: 1, mode: 'send' },
        { afi: 2, safi: 1, mode: 'send' },
      ],
    });
    expect(open(['ipv4-unicast']).capabilities.some((c) => c.kind === 'addPath')).toBe(false);
  });

  it.each([
    ['send', 'receive', ['ipv4-unicast'], []],
    ['receive', 'send', [], ['ipv4-unicast']],
    ['both', 'both', ['ipv4-unicast'], ['ipv4-unicast']],
    ['send', 'send', [], []],
    ['both', undefined, [], []],
  ] as const)('we %s, the peer %s: send %j, receive %j', (local, remote, send, receive) => {
    const n = negotiate(open(['ipv4-unicast'], local), open(['ipv4-unicast'], remote));
    expect([...n.codec.addPathSend]).toEqual(send);
    expect([...n.codec.addPathReceive]).toEqual(receive);
  });
});
