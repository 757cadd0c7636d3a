// TCP-MD5 (RFC 2385) and TTL security (RFC 5082) of our Speaker against BIRD 2 and FRR in network
// namespaces, the kernel signing and checking every segment:
// - the same password on both sides: Established over IPv4 and IPv6, routes both ways;
// - a different password, or a password on one side only: never Established, and our peer
//   status says "TCP-MD5 mismatch suspected" once the kernel counted the dropped segments;
// - TTL security with a peer one hop away (BIRD `ttl security on`, FRR `ttl-security hops 1`):
//   Established; with a peer two hops away behind a router namespace, `ttlSecurity: 1` drops
//   its segments (the kernel's TCPMinTTLDrop rises) while `ttlSecurity: 2` comes up;
// - eBGP multihop to BIRD two hops away: `multihop: 2` comes up, `multihop: 1` sends segments
//   that the router drops (its ICMP time-exceeded counter rises).
// The speaker runs in its own process inside namespace m (speaker-child.ts).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PathView, PeerConfig, PeerStatus, SpeakerOptions } from '../../bgp/speaker/types.ts';
import {
  type BirdHandle,
  birdConfig,
  birdProtocol,
  birdRoutes,
  type FrrHandle,
  frrConfig,
  frrNeighbor,
  frrRoutes,
  Lab,
  startBird,
  startFrr,
  waitBirdEstablished,
  waitFor,
  waitFrrEstablished,
} from './lib/index.ts';
import { type SpeakerProcess, startSpeaker, stopSpeakerLab } from './speaker-process.ts';

const OUR_AS = 64512;
const BIRD_AS = 64513;
const FRR_AS = 64514;
const BIRD_KEY = 'bird-secret';
const FRR_KEY = 'frr-secret-2385';
const MISMATCH = 'TCP-MD5 mismatch suspected';

describe('TCP-MD5 and TTL security against BIRD 2 and FRR', () => {
  const lab = new Lab();
  let bird: BirdHandle;
  let frr: FrrHandle;
  let speaker: SpeakerProcess | undefined;
  let m = '';
  let r = '';

  const peers = async (): Promise<PeerStatus[]> => (await speaker?.request<PeerStatus[]>('peers')) ?? [];
  const peer = async (address: string): Promise<PeerStatus | undefined> =>
    (await peers()).find((p) => p.address === address);
  /** A TcpExt counter of namespace m. */
  const tcpExt = async (name: string): Promise<number> => {
    const text = (await lab.exec(m, ['cat', '/proc/net/netstat'])).stdout.split('\n');
    const names = text.find((l) => l.startsWith('TcpExt:') && l.includes(name))?.split(/\s+/) ?? [];
    const values = text.filter((l) => l.startsWith('TcpExt:'))[1]?.split(/\s+/) ?? [];
    const at = names.indexOf(name);
    if (at < 0) throw new Error(`no TcpExt ${name} in namespace ${m}`);
    return Number(values[at]);
  };

  /** An Icmp counter of a lab namespace (/proc/net/snmp). */
  const icmpOut = async (ns: string, name: string): Promise<number> => {
    const lines = (await lab.exec(ns, ['cat', '/proc/net/snmp'])).stdout.split('\n');
    const [names, values] = lines.filter((l) => l.startsWith('Icmp:')).map((l) => l.split(/\s+/));
    const at = names?.indexOf(name) ?? -1;
    if (at < 0) throw new Error(`no Icmp ${name} in namespace ${ns}`);
    return Number(values?.[at]);
  };

  beforeAll(async () => {
    m = await lab.addNamespace('m');
    const b = await lab.addNamespace('b');
    const f = await lab.addNamespace('f');
    r = await lab.addNamespace('r');
    await lab.connect(
      { ns: m, ifname: 'to-b', ipv4: '192.0.2.1/24', ipv6: '2001:db8::1/64' },
      { ns: b, ifname: 'to-m', ipv4: '192.0.2.2/24', ipv6: '2001:db8::2/64' },
    );
    await lab.connect(
      { ns: m, ifname: 'to-f', ipv4: '198.51.100.1/24', ipv6: '2001:db8:1::1/64' },
      { ns: f, ifname: 'to-m', ipv4: '198.51.100.2/24', ipv6: '2001:db8:1::2/64' },
    );
    // m - r - b: BIRD two hops away for the TTL security cases.
    await lab.connect(
      { ns: m, ifname: 'to-r', ipv4: '198.18.0.2/24' },
      { ns: r, ifname: 'to-m', ipv4: '198.18.0.1/24' },
    );
    await lab.connect(
      { ns: r, ifname: 'to-b', ipv4: '203.0.113.1/24' },
      { ns: b, ifname: 'to-r', ipv4: '203.0.113.2/24' },
    );
    await lab.exec(r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await lab.exec(m, ['ip', 'route', 'add', '203.0.113.0/24', 'via', '198.18.0.1']);
    await lab.exec(b, ['ip', 'route', 'add', '198.18.0.0/24', 'via', '203.0.113.1']);
    // One session per address pair: more addresses on each link.
    const add = (ns: string, dev: string, address: string) =>
      lab.exec(ns, ['ip', 'addr', 'add', address, 'dev', dev, ...(address.includes(':') ? ['nodad'] : [])]);
    for (const n of [1, 2, 3, 4]) {
      await add(m, 'to-b', `192.0.2.${10 * n + 1}/24`);
      await add(b, 'to-m', `192.0.2.${10 * n + 2}/24`);
    }
    for (const n of [1, 2, 3]) {
      await add(m, 'to-f', `198.51.100.${10 * n + 1}/24`);
      await add(f, 'to-m', `198.51.100.${10 * n + 2}/24`);
    }
    await add(m, 'to-b', '2001:db8::11/64');
    await add(b, 'to-m', '2001:db8::12/64');
    for (const n of [3, 4, 5]) {
      await add(m, 'to-r', `198.18.0.${n}/24`);
      await add(b, 'to-r', `203.0.113.${n}/24`);
    }

    const birdNeighbor = (name: string, local: string, remote: string, extra: string[], v6 = false) => ({
      name,
      address: remote,
      localAddress: local,
      remoteAs: OUR_AS,
      ipv4: !v6,
      ipv6: v6,
      extra,
    });
    bird = await startBird(
      lab,
      b,
      birdConfig({
        routerId: '192.0.2.2',
        localAs: BIRD_AS,
        staticRoutes: [{ prefix: '10.50.0.0/24' }, { prefix: '2001:db8:50::/48' }],
        neighbors: [
          birdNeighbor('ok4', '192.0.2.2', '192.0.2.1', [`password "${BIRD_KEY}";`]),
          birdNeighbor('bad4', '192.0.2.12', '192.0.2.11', ['password "not the same";']),
          birdNeighbor('nokey4', '192.0.2.22', '192.0.2.21', []),
          birdNeighbor('onlybird4', '192.0.2.32', '192.0.2.31', [`password "${BIRD_KEY}";`]),
          birdNeighbor('ttl4', '192.0.2.42', '192.0.2.41', ['ttl security on;']),
          birdNeighbor('ok6', '2001:db8::2', '2001:db8::1', [`password "${BIRD_KEY}";`], true),
          birdNeighbor('bad6', '2001:db8::12', '2001:db8::11', ['password "not the same";'], true),
          birdNeighbor('far1', '203.0.113.2', '198.18.0.2', ['multihop 2;', 'ttl security on;']),
          birdNeighbor('far2', '203.0.113.3', '198.18.0.3', ['multihop 2;', 'ttl security on;']),
          birdNeighbor('hop1', '203.0.113.4', '198.18.0.4', ['multihop 2;']),
          birdNeighbor('hop2', '203.0.113.5', '198.18.0.5', ['multihop 2;']),
        ],
      }),
    );
    const frrNeighborOf = (address: string, source: string, extra: string[], v6 = false) => ({
      address,
      remoteAs: OUR_AS,
      updateSource: source,
      ipv4: !v6,
      ipv6: v6,
      extra,
    });
    frr = await startFrr(
      lab,
      f,
      frrConfig({
        routerId: '198.51.100.2',
        localAs: FRR_AS,
        networks: ['10.60.0.0/24', '2001:db8:60::/48'],
        neighbors: [
          frrNeighborOf('198.51.100.1', '198.51.100.2', [`password ${FRR_KEY}`]),
          frrNeighborOf('198.51.100.11', '198.51.100.12', ['password not-the-same']),
          frrNeighborOf('198.51.100.21', '198.51.100.22', []),
          frrNeighborOf('198.51.100.31', '198.51.100.32', ['ttl-security hops 1']),
          frrNeighborOf('2001:db8:1::1', '2001:db8:1::2', [`password ${FRR_KEY}`], true),
        ],
      }),
    );

    const ours = (
      address: string,
      localAddress: string,
      asn: number,
      extra: Partial<PeerConfig>,
    ): PeerConfig => ({
      address,
      localAddress,
      asn,
      holdTime: 9,
      connectRetryTime: 1,
      ...extra,
    });
    const options: SpeakerOptions = { asn: OUR_AS, routerId: '192.0.2.1' };
    speaker = await startSpeaker(lab, m, {
      options,
      peers: [
        ours('192.0.2.2', '192.0.2.1', BIRD_AS, { password: BIRD_KEY }),
        ours('192.0.2.12', '192.0.2.11', BIRD_AS, { password: BIRD_KEY }),
        ours('192.0.2.22', '192.0.2.21', BIRD_AS, { password: BIRD_KEY }),
        ours('192.0.2.32', '192.0.2.31', BIRD_AS, {}),
        ours('192.0.2.42', '192.0.2.41', BIRD_AS, { ttlSecurity: 1 }),
        ours('2001:db8::2', '2001:db8::1', BIRD_AS, { password: BIRD_KEY }),
        ours('2001:db8::12', '2001:db8::11', BIRD_AS, { password: BIRD_KEY }),
        ours('203.0.113.2', '198.18.0.2', BIRD_AS, { ttlSecurity: 1 }),
        ours('203.0.113.3', '198.18.0.3', BIRD_AS, { ttlSecurity: 2 }),
        ours('203.0.113.4', '198.18.0.4', BIRD_AS, { multihop: 1 }),
        ours('203.0.113.5', '198.18.0.5', BIRD_AS, { multihop: 2 }),
        ours('198.51.100.2', '198.51.100.1', FRR_AS, { password: FRR_KEY }),
        ours('198.51.100.12', '198.51.100.11', FRR_AS, { password: FRR_KEY }),
        ours('198.51.100.22', '198.51.100.21', FRR_AS, { password: FRR_KEY }),
        ours('198.51.100.32', '198.51.100.31', FRR_AS, { ttlSecurity: 1 }),
        ours('2001:db8:1::2', '2001:db8:1::1', FRR_AS, { password: FRR_KEY }),
      ],
      routes: [{ prefix: '10.244.1.0/24' }, { prefix: '2001:db8:244::/48' }],
    });
  });

  afterAll(() => stopSpeakerLab(lab, speaker));

  test('the same password: BIRD and FRR Established over IPv4 and IPv6', async () => {
    await waitBirdEstablished(bird, 'ok4');
    await waitBirdEstablished(bird, 'ok6');
    await waitFrrEstablished(frr, '198.51.100.1');
    await waitFrrEstablished(frr, '2001:db8:1::1');
    for (const address of ['192.0.2.2', '2001:db8::2', '198.51.100.2', '2001:db8:1::2']) {
      const p = await waitFor(() => peer(address), {
        describe: `our peer ${address} Established`,
        until: (s) => s?.state === 'Established',
      });
      expect(p?.tcpMd5).toBeUndefined();
    }
  });

  test('the same password: routes both ways, IPv4 and IPv6', async () => {
    const routes = await waitFor(() => speaker?.request<PathView[]>('routes') ?? [], {
      describe: 'BIRD and FRR routes at our speaker',
      until: (rs) =>
        [
          ['10.50.0.0/24', '192.0.2.2'],
          ['2001:db8:50::/48', '2001:db8::2'],
          ['10.60.0.0/24', '198.51.100.2'],
          ['2001:db8:60::/48', '2001:db8:1::2'],
        ].every(([prefix, from]) => rs.some((r) => r.prefix === prefix && r.fromPeer === from)),
    });
    const from = (prefix: string) => routes.filter((r) => r.prefix === prefix).map((r) => r.fromPeer);
    expect(from('10.50.0.0/24')).toContain('192.0.2.2');
    expect(from('2001:db8:50::/48')).toContain('2001:db8::2');
    expect(from('10.60.0.0/24')).toContain('198.51.100.2');
    expect(from('2001:db8:60::/48')).toContain('2001:db8:1::2');
    const inBird = await waitFor(() => birdRoutes(bird), {
      describe: 'our routes in BIRD',
      until: (rs) =>
        rs.some((r) => r.prefix === '10.244.1.0/24') && rs.some((r) => r.prefix === '2001:db8:244::/48'),
    });
    expect(inBird.filter((r) => r.prefix === '10.244.1.0/24').map((r) => r.protocol)).toContain('ok4');
    expect(inBird.filter((r) => r.prefix === '2001:db8:244::/48').map((r) => r.protocol)).toContain('ok6');
    const v4 = await waitFor(() => frrRoutes(frr, 'ipv4'), {
      describe: 'our IPv4 route in FRR',
      until: (rs) => rs.some((r) => r.prefix === '10.244.1.0/24'),
    });
    expect(v4.filter((r) => r.prefix === '10.244.1.0/24').map((r) => r.nextHops[0])).toContain(
      '198.51.100.1',
    );
    await waitFor(() => frrRoutes(frr, 'ipv6'), {
      describe: 'our IPv6 route in FRR',
      until: (rs) => rs.some((r) => r.prefix === '2001:db8:244::/48'),
    });
  });

  test('a different password or a password on one side only: down, and the status suspects TCP-MD5', async () => {
    const cases = [
      { ours: '192.0.2.12', bird: 'bad4' },
      { ours: '2001:db8::12', bird: 'bad6' },
      { ours: '192.0.2.22', bird: 'nokey4' },
      { ours: '192.0.2.32', bird: 'onlybird4' },
      { ours: '198.51.100.12', frr: '198.51.100.11' },
      { ours: '198.51.100.22', frr: '198.51.100.21' },
    ];
    for (const c of cases) {
      const p = await waitFor(() => peer(c.ours), {
        describe: `our peer ${c.ours} to show the mismatch`,
        until: (s) => s?.tcpMd5 !== undefined,
      });
      expect(p).toMatchObject({ tcpMd5: MISMATCH });
      expect(p?.state).not.toBe('Established');
      if (c.bird !== undefined) expect((await birdProtocol(bird, c.bird)).bgpState).not.toBe('Established');
      if (c.frr !== undefined) expect((await frrNeighbor(frr, c.frr)).state).not.toBe('Established');
    }
    for (const c of cases) expect((await peer(c.ours))?.state).not.toBe('Established');
  });

  test('TTL security with a peer one hop away: BIRD and FRR Established', async () => {
    await waitBirdEstablished(bird, 'ttl4');
    await waitFrrEstablished(frr, '198.51.100.31');
    const ps = await waitFor(peers, {
      describe: 'our TTL-security peers Established',
      until: (list) =>
        ['192.0.2.42', '198.51.100.32'].every(
          (a) => list.find((p) => p.address === a)?.state === 'Established',
        ),
    });
    expect(ps.find((p) => p.address === '192.0.2.42')?.tcpMd5).toBeUndefined();
  });

  test('TTL security with a peer two hops away: 1 hop refuses its segments, 2 hops comes up', async () => {
    const before = await tcpExt('TCPMinTTLDrop');
    await waitBirdEstablished(bird, 'far2');
    await waitFor(() => peer('203.0.113.3'), {
      describe: 'our peer 203.0.113.3 (ttlSecurity 2) Established',
      until: (s) => s?.state === 'Established',
    });
    await waitFor(() => tcpExt('TCPMinTTLDrop'), {
      describe: 'the kernel to drop segments below the minimum TTL',
      until: (n) => n > before,
    });
    expect((await peer('203.0.113.2'))?.state).not.toBe('Established');
    expect((await birdProtocol(bird, 'far1')).bgpState).not.toBe('Established');
  });

  test('eBGP multihop to a peer two hops away: TTL 2 comes up, TTL 1 dies at the router', async () => {
    await waitBirdEstablished(bird, 'hop2');
    await waitFor(() => peer('203.0.113.5'), {
      describe: 'our peer 203.0.113.5 (multihop 2) Established',
      until: (s) => s?.state === 'Established',
    });
    // The router answers each expired segment with an ICMP time exceeded.
    await waitFor(() => icmpOut(r, 'OutTimeExcds'), {
      describe: 'the router to drop segments whose TTL ran out',
      until: (n) => n > 0,
    });
    expect((await peer('203.0.113.4'))?.state).not.toBe('Established');
    expect((await birdProtocol(bird, 'hop1')).bgpState).not.toBe('Established');
  });
});
