import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { loadSpeakerConfig, parseSpeakerConfig } from '../../../../src/config/speaker.ts';
import { MargayError } from '../../../../src/errors.ts';

const MAIN = join(import.meta.dirname, '..', '..', '..', '..', 'src/main.ts');

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
    keepaliveTime: 30
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
      keepaliveTime: 30,
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

  it('takes maxPrefix as a number or per family, as the speaker runs it', () => {
    const maxPrefix = {
      'ipv4-unicast': { limit: 1000, action: 'teardown', restartAfterSeconds: 30 },
      'ipv6-unicast': { limit: 500, action: 'warn' },
    };
    const cfg = parseSpeakerConfig({
      ...base,
      peers: [
        { address: '192.0.2.2', asn: 1, maxPrefix, families: ['ipv4-unicast', 'ipv6-unicast'] },
        { address: '192.0.2.3', asn: 1, maxPrefix: 100 },
      ],
    });
    expect(cfg.peers.map((p) => p.maxPrefix)).toEqual([maxPrefix, 100]);
  });

  const bad: [string, unknown, string][] = [
    [
      'maxPrefix with an unknown family',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, maxPrefix: { ipv4: { limit: 1 } } }] },
      'peers[0].maxPrefix',
    ],
    [
      'maxPrefix action not teardown or warn',
      {
        ...base,
        peers: [
          { address: '192.0.2.2', asn: 1, maxPrefix: { 'ipv4-unicast': { limit: 1, action: 'restart' } } },
        ],
      },
      "peers[0].maxPrefix.ipv4-unicast.action: must be 'teardown' or 'warn'",
    ],
    [
      'maxPrefix restartAfterSeconds 0',
      {
        ...base,
        peers: [
          {
            address: '192.0.2.2',
            asn: 1,
            maxPrefix: { 'ipv6-unicast': { limit: 1, restartAfterSeconds: 0 } },
          },
        ],
      },
      'peers[0].maxPrefix.ipv6-unicast.restartAfterSeconds: must be at least 1',
    ],
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
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, holdTime: 9, keepaliveTime: 4 }] },
      'peers[0].keepaliveTime: 4 is more than holdTime / 3; with holdTime 9 it must be 1..3 seconds',
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
      'peers[1].address: 192.0.2.2 duplicates peers[0].address',
    ],
    [
      'duplicate IPv6 peer in another spelling',
      {
        ...base,
        peers: [
          { address: '2001:db8::9', asn: 1 },
          { address: '2001:DB8::2', asn: 1 },
          { address: '192.0.2.2', asn: 1 },
          { address: '2001:db8:0:0::2', asn: 2 },
        ],
      },
      'peers[3].address: 2001:db8::2 duplicates peers[1].address',
    ],
    [
      'duplicate peer as an IPv4-mapped IPv6 address',
      {
        ...base,
        peers: [
          { address: '192.0.2.2', asn: 1 },
          { address: '::ffff:192.0.2.2', asn: 1 },
        ],
      },
      'peers[1].address: 192.0.2.2 duplicates peers[0].address',
    ],
    ['router id 0.0.0.0', { ...base, routerId: '0.0.0.0' }, 'routerId: 0.0.0.0 is not a BGP identifier'],
    [
      'peer 0.0.0.0',
      { ...base, peers: [{ address: '0.0.0.0', asn: 1 }] },
      'peers[0].address: 0.0.0.0 is the unspecified address',
    ],
    [
      'peer ::',
      { ...base, peers: [{ address: '::', asn: 1 }] },
      'peers[0].address: :: is the unspecified address',
    ],
    [
      'IPv4-mapped unspecified peer',
      { ...base, peers: [{ address: '::ffff:0.0.0.0', asn: 1 }] },
      'peers[0].address: 0.0.0.0 is the unspecified address',
    ],
    [
      'multicast peer',
      { ...base, peers: [{ address: '224.0.0.5', asn: 1 }] },
      'peers[0].address: 224.0.0.5 is a multicast address',
    ],
    [
      'IPv6 multicast peer',
      { ...base, peers: [{ address: 'ff02::5', asn: 1 }] },
      'peers[0].address: ff02::5 is a multicast address',
    ],
    [
      'broadcast peer',
      { ...base, peers: [{ address: '255.255.255.255', asn: 1 }] },
      'peers[0].address: 255.255.255.255 is the broadcast address',
    ],
    [
      'the listen address as a peer',
      { ...base, listen: { address: '192.0.2.1' }, peers: [{ address: '192.0.2.1', asn: 1 }] },
      "peers[0].address: 192.0.2.1 is this speaker's own address (listen.address)",
    ],
    [
      'the listen address in another spelling as a peer',
      { ...base, listen: { address: '2001:db8::1' }, peers: [{ address: '2001:DB8:0::1', asn: 1 }] },
      "peers[0].address: 2001:db8::1 is this speaker's own address (listen.address)",
    ],
    [
      'a peer at its own local address',
      { ...base, peers: [{ address: '192.0.2.7', asn: 1, localAddress: '192.0.2.7' }] },
      "peers[0].address: 192.0.2.7 is this speaker's own address (peers[0].localAddress)",
    ],
    [
      'a peer at the local address of another peer',
      {
        ...base,
        peers: [
          { address: '192.0.2.2', asn: 1, localAddress: '192.0.2.1' },
          { address: '192.0.2.1', asn: 1 },
        ],
      },
      "peers[1].address: 192.0.2.1 is this speaker's own address (peers[0].localAddress)",
    ],
    [
      'a local address of the other family',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, localAddress: '2001:db8::1' }] },
      'peers[0].localAddress: must be an IPv4 address like the peer address',
    ],
    [
      'a local address of the other family than an IPv4-mapped peer',
      { ...base, peers: [{ address: '::ffff:192.0.2.2', asn: 1, localAddress: '2001:db8::1' }] },
      'peers[0].localAddress: must be an IPv4 address like the peer address',
    ],
    [
      'a multicast local address',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, localAddress: '224.0.0.1' }] },
      'peers[0].localAddress: 224.0.0.1 is a multicast address',
    ],
    [
      'a multicast listen address',
      { ...base, listen: { address: 'ff02::1' } },
      'listen.address: ff02::1 is a multicast address',
    ],
    [
      'an unspecified next hop',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, nextHop: { ipv6: '::' } }] },
      'peers[0].nextHop.ipv6: :: is the unspecified address',
    ],
    [
      'a broadcast announcement next hop',
      { ...base, announce: [{ prefix: '10.0.0.0/8', nextHop: '255.255.255.255' }] },
      'announce[0].nextHop: 255.255.255.255 is the broadcast address',
    ],
    [
      'keepalive 0 with a hold time',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, holdTime: 90, keepaliveTime: 0 }] },
      'peers[0].keepaliveTime: 0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds',
    ],
    [
      'keepalive with hold time 0',
      { ...base, peers: [{ address: '192.0.2.2', asn: 1, holdTime: 0, keepaliveTime: 30 }] },
      'peers[0].keepaliveTime: 30 with holdTime 0: must be 0',
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

  it('what it accepts, the speaker accepts: peers in any spelling, loopback, IPv4-mapped', () => {
    for (const peers of [
      [{ address: '2001:DB8:0:0::2', asn: 1, localAddress: '2001:db8::1' }],
      [{ address: '::ffff:192.0.2.2', asn: 1, localAddress: '192.0.2.1' }],
      [
        { address: '127.0.0.1', asn: 1, port: 1179 },
        { address: '192.0.2.2', asn: 1, holdTime: 0, keepaliveTime: 0 },
        { address: '192.0.2.3', asn: 1, holdTime: 0 },
      ],
    ]) {
      const cfg = parseSpeakerConfig({ ...base, listen: null, peers });
      const speaker = new Speaker({ ...cfg.speaker });
      speaker.setPeers(cfg.peers);
      expect(speaker.peers()).toHaveLength(peers.length);
    }
  });

  it('margay speaker exits 2 naming both entries of a duplicated peer, without a stack trace', () => {
    const path = writeTemp(
      'asn: 64512\nrouterId: 192.0.2.1\nlisten: null\napi: { listen: "127.0.0.1:19179" }\npeers:\n' +
        '  - { address: 192.0.2.2, asn: 64513 }\n  - { address: "2001:DB8::2", asn: 64513 }\n' +
        '  - { address: "::ffff:192.0.2.3", asn: 64513 }\n  - { address: "2001:db8:0:0::2", asn: 64513 }\n',
    );
    const run = spawnSync(process.execPath, [MAIN, 'speaker', '--config', path], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.stderr).toContain('peers[3].address: 2001:db8::2 duplicates peers[1].address');
    expect(run.stderr).not.toMatch(/ at .*\.ts:\d+:\d+/);
    expect(run.status).toBe(2);
  });

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
