import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpeakerConfig, parseSpeakerConfig } from '../../../../src/config/speaker.ts';
import { MargayError } from '../../../../src/errors.ts';

const EXAMPLE = `
asn: 64512
routerId: 192.0.2.1
clusterId: 192.0.2.1
listen: { address: "::", port: 179 }
api: { listen: "127.0.0.1:9179" }
peers:
  - address: 192.0.2.2
    asn: 64513
    passive: false
    holdTime: 90
    keepalive: 30
    localAddress: 192.0.2.1
    families: [ipv4-unicast, ipv6-unicast]
    routeReflectorClient: false
    nextHopSelf: false
    description: tor-1
announce:
  - { prefix: 10.244.1.0/24, nextHop: self, communities: ["64512:100", no-export], largeCommunities: ["64512:1:2"], med: 10, localPref: 100 }
`;

function writeTemp(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'margay-cfg-'));
  const path = join(dir, 'speaker.yaml');
  writeFileSync(path, text);
  return path;
}

function errorOf(doc: unknown): string {
  try {
    parseSpeakerConfig(doc, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(MargayError);
    expect((err as MargayError).code).toBe('MARGAY_ERR_CONFIG');
    expect((err as MargayError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

const base = { asn: 64512, routerId: '192.0.2.1' };

describe('margay speaker config', () => {
  it('accepts the documented example with every field', async () => {
    const cfg = await loadSpeakerConfig(writeTemp(EXAMPLE));
    expect(cfg.speaker).toMatchObject({ asn: 64512, routerId: '192.0.2.1', clusterId: '192.0.2.1' });
    expect(cfg.speaker.listen).toEqual({ address: '::', port: 179 });
    expect(cfg.api).toEqual({ host: '127.0.0.1', port: 9179, token: undefined });
    expect(cfg.peers[0]).toMatchObject({
      address: '192.0.2.2',
      asn: 64513,
      holdTime: 90,
      keepalive: 30,
      families: ['ipv4-unicast', 'ipv6-unicast'],
      description: 'tor-1',
    });
    expect(cfg.announce[0]).toMatchObject({
      prefix: '10.244.1.0/24',
      nextHop: 'self',
      communities: [(64512 * 65536 + 100) >>> 0, 0xffffff01],
      largeCommunities: [{ globalAdmin: 64512, localData1: 1, localData2: 2 }],
      med: 10,
      localPref: 100,
    });
  });

  it('fills defaults like BIRD would', () => {
    const cfg = parseSpeakerConfig({ ...base, peers: [{ address: '2001:db8::2', asn: 4200000000 }] });
    expect(cfg.peers[0]).toMatchObject({
      passive: false,
      holdTime: 90,
      routeReflectorClient: false,
      nextHopSelf: false,
    });
    expect(cfg.speaker.listen).toEqual({ address: '::', port: 179 });
  });

  const bad: [string, unknown, string][] = [
    ['asn out of range', { ...base, asn: 4294967296 }, 'asn: must be 1..4294967295'],
    ['asn zero', { ...base, asn: 0 }, 'asn: must be 1..4294967295'],
    ['router id not IPv4', { ...base, routerId: '2001:db8::1' }, 'routerId: must be an IPv4 address'],
    [
      'hold time 2',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, holdTime: 2 }] },
      'peers[0].holdTime: must be 0 or 3..65535',
    ],
    [
      'keepalive above hold/3',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, holdTime: 9, keepalive: 4 }] },
      'peers[0].keepalive: must be at most holdTime / 3',
    ],
    ['unknown peer field', { ...base, peers: [{ address: '192.0.2.2', asn: 1, holdtime: 9 }] }, 'peers[0]'],
    [
      'bad family',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, families: ['ipv4-multicast'] }] },
      'peers[0].families[0]',
    ],
    ['bad peer address', { ...base, peers: [{ address: '192.0.2.300', asn: 1 }] }, 'peers[0].address'],
    [
      'duplicate peer',
      {
        ...base,
        peers: [
          { address: '192.0.2.2', asn: 1 },
          { address: '192.0.2.2', asn: 2 },
        ],
      },
      'peers[1].address: duplicates peers[0]',
    ],
    ['host bits in prefix', { ...base, announce: [{ prefix: '10.244.1.1/24' }] }, 'announce[0].prefix'],
    [
      'bad community',
      { ...base, announce: [{ prefix: '10.0.0.0/8', communities: ['65536:1'] }] },
      'announce[0].communities[0]',
    ],
    [
      'bad large community',
      { ...base, announce: [{ prefix: '10.0.0.0/8', largeCommunities: ['1:2'] }] },
      'announce[0].largeCommunities[0]',
    ],
    ['bad api listen', { ...base, api: { listen: 'localhost' } }, 'api.listen'],
  ];
  for (const [name, doc, expected] of bad) {
    it(`rejects ${name}, naming the field`, () => expect(errorOf(doc)).toContain(expected));
  }

  it('reports unreadable files and invalid YAML with the path', async () => {
    await expect(loadSpeakerConfig('/nonexistent/margay.yaml')).rejects.toMatchObject({
      code: 'MARGAY_ERR_CONFIG_READ',
      exitCode: 2,
      message: expect.stringContaining('/nonexistent/margay.yaml'),
    });
    const path = writeTemp('asn: [unclosed');
    await expect(loadSpeakerConfig(path)).rejects.toMatchObject({
      code: 'MARGAY_ERR_CONFIG',
      message: expect.stringMatching(/not valid YAML/),
    });
  });
});
