// Malformed UPDATEs against `margay speaker` (RFC 7606 revised error handling, RFC
// 4271 §6.3 NOTIFICATIONs). Two senders:
//   - ExaBGP attaches raw attributes to otherwise valid routes: unknown optional transitive
//     (must reach BIRD behind us with the Partial bit), unknown optional non-transitive (dropped).
//   - bgp/rawpeer-child.ts sends whole hand-built UPDATEs for what ExaBGP cannot produce: bad
//     attribute lengths and flags, duplicates, bad ORIGIN, malformed AS_PATH, AS 0 in AS_PATH and
//     AGGREGATOR (RFC 7607), a malformed LOCAL_PREF from this eBGP peer (discarded, RFC 7606
//     §7.5), overrunning attribute length, bad NLRI length, MP_REACH with a bad next-hop length,
//     an unknown well-known attribute.
// For each: the RFC 7606 action (treat-as-withdraw: the prefix disappears; attribute-discard:
// installed without the attribute) or the NOTIFICATION the raw peer receives; and every time the
// `margay speaker` process still answers its API, its other sessions stay Established and the
// canary route from ExaBGP is still there.
//
//   m   margay speaker AS 64512   198.51.100.1
//   exa ExaBGP AS 65098           198.51.100.2  (connects to m)
//   raw raw peer AS 65099         198.51.100.3  (connects to m; m is passive towards it)
//   b   BIRD AS 65097             198.51.100.4  (eBGP with m: sees what m passes on)
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type MargayHandle,
  startMargay,
  waitMargayEstablished,
  waitMargayNoRoute,
  waitMargayRoute,
} from './bgp/margay.ts';
import {
  asPath,
  attr,
  attrWithLength,
  communities,
  ipv4Prefix,
  nextHop,
  ORIGIN_IGP,
  type RawPeer,
  startRawPeer,
  update,
} from './bgp/rawpeer.ts';
import {
  type BirdHandle,
  birdConfig,
  birdProtocol,
  type ExabgpHandle,
  exabgpConfig,
  exabgpRawAttribute,
  type GobgpHandle,
  gobgpConfig,
  Lab,
  parseRoutesAll,
  startBird,
  startExabgp,
  startGobgp,
  waitBirdEstablished,
  waitExabgpUp,
  waitFor,
} from './lib/index.ts';

const IP = {
  m: '198.51.100.1',
  exa: '198.51.100.2',
  raw: '198.51.100.3',
  bird: '198.51.100.4',
  gobgp: '198.51.100.5',
} as const;
const AS = { m: 64512, exa: 65098, raw: 65099, bird: 65097, gobgp: 65096 } as const;

/** The raw attributes of `prefix` in GoBGP's Loc-RIB (`global rib -j`). */
async function gobgpRaw(g: GobgpHandle, prefix: string): Promise<{ type: number; flags?: number }[]> {
  const j = await g.gobgpJson<Record<string, { attrs?: { type: number; flags?: number }[] }[]>>([
    'global',
    'rib',
    '-a',
    'ipv4',
    prefix,
  ]);
  return Object.values(j ?? {}).flatMap((ps) => ps.flatMap((p) => p.attrs ?? []));
}
const CANARY = '10.244.199.0/24';
const TRANSITIVE = '10.244.210.0/24';
const NON_TRANSITIVE = '10.244.211.0/24';
const VALID = (prefix: string, extra: readonly Buffer[] = []) =>
  update({ attrs: [ORIGIN_IGP, asPath(AS.raw), nextHop(IP.raw), ...extra], nlri: [ipv4Prefix(prefix)] });

describe('malformed UPDATEs from ExaBGP and a raw peer (RFC 7606, RFC 4271 §6.3)', () => {
  const lab = new Lab();
  let m: MargayHandle;
  let exa: ExabgpHandle;
  let raw: RawPeer;
  let bird: BirdHandle;
  let gobgp: GobgpHandle;

  async function birdAttributes(prefix: string): Promise<Record<string, string> | undefined> {
    try {
      return parseRoutesAll(await bird.birdc(`show route ${prefix} all`)).find((r) => r.prefix === prefix)
        ?.attributes;
    } catch {
      return undefined; // "Network not found"
    }
  }

  /** `show route PREFIX all` as text, or undefined while BIRD does not have it. */
  async function birdText(prefix: string): Promise<string | undefined> {
    try {
      const t = await bird.birdc(`show route ${prefix} all`);
      return t.includes(prefix) ? t : undefined;
    } catch {
      return undefined; // "Network not found"
    }
  }

  /** The process answers, every other session is Established, the canary is in place. */
  async function expectHealthy(): Promise<void> {
    expect(await m.isUp()).toBe(true);
    const peers = await m.peers();
    expect(peers.find((p) => p.address === IP.exa)?.state).toBe('Established');
    expect(peers.find((p) => p.address === IP.bird)?.state).toBe('Established');
    expect((await m.routes({ prefix: CANARY })).length).toBe(1);
    expect((await birdProtocol(bird, 'm')).bgpState).toBe('Established');
  }

  beforeAll(async () => {
    const seg = await lab.addSegment('u');
    const ns: Record<string, string> = {};
    for (const [name, addr] of Object.entries(IP)) {
      ns[name] = await lab.addNamespace(name);
      await seg.attach({ ns: ns[name] as string, ifname: 'eth0', ipv4: `${addr}/24` });
    }
    if (process.env.MARGAY_BGP_PCAP === '1') {
      lab.spawn(
        ns.bird as string,
        ['tcpdump', '-i', 'eth0', '-U', '-w', `${lab.dir}/bird.pcap`, 'tcp port 179'],
        {
          name: 'tcpdump-bird',
        },
      );
    }
    [m, bird] = await Promise.all([
      startMargay(lab, ns.m as string, {
        asn: AS.m,
        routerId: IP.m,
        peers: [
          { address: IP.exa, asn: AS.exa, passive: true },
          { address: IP.raw, asn: AS.raw, passive: true, holdTime: 30 },
          { address: IP.bird, asn: AS.bird },
          { address: IP.gobgp, asn: AS.gobgp },
        ],
      }),
      startBird(
        lab,
        ns.bird as string,
        birdConfig({
          routerId: IP.bird,
          localAs: AS.bird,
          neighbors: [{ name: 'm', address: IP.m, remoteAs: AS.m }],
        }),
      ),
    ]);
    gobgp = await startGobgp(
      lab,
      ns.gobgp as string,
      gobgpConfig({ routerId: IP.gobgp, localAs: AS.gobgp, neighbors: [{ address: IP.m, remoteAs: AS.m }] }),
    );
    exa = await startExabgp(
      lab,
      ns.exa as string,
      exabgpConfig([
        {
          address: IP.m,
          localAddress: IP.exa,
          remoteAs: AS.m,
          localAs: AS.exa,
          routerId: IP.exa,
          routes: [
            `route ${CANARY} next-hop self;`,
            // RFC 4271 §5: unknown optional transitive → passed on with Partial set.
            `route ${TRANSITIVE} next-hop self ${exabgpRawAttribute(0xf1, 0xc0, Uint8Array.of(1, 2, 3, 4))};`,
            // Unknown optional non-transitive → quietly ignored, not passed on.
            `route ${NON_TRANSITIVE} next-hop self ${exabgpRawAttribute(0xf0, 0x80, Uint8Array.of(0xa, 0xb))};`,
          ],
        },
      ]),
    );
    raw = await startRawPeer(lab, ns.raw as string, {
      host: IP.m,
      localAddress: IP.raw,
      asn: AS.raw,
      routerId: IP.raw,
    });
    await waitExabgpUp(exa, IP.m);
    await waitBirdEstablished(bird, 'm');
    await waitMargayEstablished(m, IP.exa);
    await waitMargayRoute(m, CANARY);
    await raw.connect();
    await waitMargayEstablished(m, IP.raw);
  });

  afterAll(() => lab.teardown());

  test('ExaBGP: unknown optional transitive attribute reaches BIRD behind us with Partial set', async () => {
    await waitMargayRoute(m, TRANSITIVE, { peer: IP.exa });
    // BIRD prints an unknown attribute as "BGP.f1 [t]: 01 02 03 04" (it shows the transitive bit
    // only, never Partial), hence GoBGP too: its JSON carries the flags byte.
    const text = await waitFor(() => bird.birdc(`show route ${TRANSITIVE} all`), {
      describe: `BIRD has ${TRANSITIVE} with attribute 0xf1`,
      until: (t) => /BGP\.f1 \[t\]: 01 02 03 04/.test(t),
    });
    expect(text).toContain('BGP.as_path: 64512 65098');
    const path = await waitFor(async () => (await gobgpRaw(gobgp, TRANSITIVE)).find((x) => x.type === 0xf1), {
      describe: `GoBGP has ${TRANSITIVE} with attribute 0xf1`,
    });
    // RFC 4271 §5 / §4.3: optional (0x80) + transitive (0x40) + Partial (0x20).
    expect((path?.flags ?? 0) & 0xe0).toBe(0xe0);
    await expectHealthy();
  });

  test('ExaBGP: unknown optional non-transitive attribute is installed but not passed on', async () => {
    await waitMargayRoute(m, NON_TRANSITIVE, { peer: IP.exa });
    const text = await waitFor(() => birdText(NON_TRANSITIVE), { describe: `BIRD has ${NON_TRANSITIVE}` });
    expect(text).toContain('BGP.as_path: 64512 65098');
    expect(text).not.toMatch(/BGP\.f0/);
    await expectHealthy();
  });

  // ---- treat-as-withdraw: a valid announcement first, then the malformed one for the prefix ----
  const treatAsWithdraw: [string, string, (prefix: string) => Buffer][] = [
    [
      'ORIGIN with a bad length (RFC 7606 §7.1)',
      '10.244.220.0/24',
      (p) =>
        update({ attrs: [attr(0x40, 1, [0, 0]), asPath(AS.raw), nextHop(IP.raw)], nlri: [ipv4Prefix(p)] }),
    ],
    [
      'ORIGIN with bad flags, optional bit set (RFC 7606 §3.c)',
      '10.244.221.0/24',
      (p) => update({ attrs: [attr(0xc0, 1, [0]), asPath(AS.raw), nextHop(IP.raw)], nlri: [ipv4Prefix(p)] }),
    ],
    [
      'bad ORIGIN value 5 (RFC 7606 §7.1)',
      '10.244.222.0/24',
      (p) => update({ attrs: [attr(0x40, 1, [5]), asPath(AS.raw), nextHop(IP.raw)], nlri: [ipv4Prefix(p)] }),
    ],
    [
      'AS_PATH with segment type 7 (RFC 7606 §7.2)',
      '10.244.223.0/24',
      (p) =>
        update({
          attrs: [ORIGIN_IGP, attr(0x40, 2, [7, 1, 0, 0, 0xfe, 0x4b]), nextHop(IP.raw)],
          nlri: [ipv4Prefix(p)],
        }),
    ],
    [
      'AS_PATH segment longer than the attribute (RFC 7606 §7.2)',
      '10.244.224.0/24',
      (p) =>
        update({
          attrs: [ORIGIN_IGP, attr(0x40, 2, [2, 3, 0, 0, 0xfe, 0x4b]), nextHop(IP.raw)],
          nlri: [ipv4Prefix(p)],
        }),
    ],
    [
      'COMMUNITIES of length 3 (RFC 7606 §7.8)',
      '10.244.225.0/24',
      (p) => VALID(p, [attr(0xc0, 8, [0xfe, 0x4b, 0])]),
    ],
    [
      'last attribute length overruns the path attributes (RFC 7606 §4)',
      '10.244.226.0/24',
      (p) =>
        update({
          attrs: [ORIGIN_IGP, asPath(AS.raw), nextHop(IP.raw), attrWithLength(0xc0, 8, 200, [0, 1, 0, 2])],
          nlri: [ipv4Prefix(p)],
        }),
    ],
  ];
  for (const [name, prefix, malformed] of treatAsWithdraw) {
    test(`raw: ${name} → treat-as-withdraw, session stays up`, async () => {
      await raw.send(VALID(prefix));
      await waitMargayRoute(m, prefix, { peer: IP.raw });
      await raw.send(malformed(prefix));
      await waitMargayNoRoute(m, prefix);
      const st = await raw.state();
      expect(st.established).toBe(true);
      expect(st.received.filter((r) => r.type === 3)).toEqual([]);
      await expectHealthy();
    });
  }

  test('raw: AS 0 in AS_PATH → treat-as-withdraw, and BIRD behind us loses the route (RFC 7607 §2)', async () => {
    const prefix = '10.244.227.0/24';
    await raw.send(VALID(prefix));
    await waitMargayRoute(m, prefix, { peer: IP.raw });
    const before = await waitFor(() => birdText(prefix), { describe: `BIRD has ${prefix}` });
    expect(before).toContain('BGP.as_path: 64512 65099\n');
    await raw.send(
      update({ attrs: [ORIGIN_IGP, asPath(AS.raw, 0), nextHop(IP.raw)], nlri: [ipv4Prefix(prefix)] }),
    );
    await waitMargayNoRoute(m, prefix);
    // The path with AS 0 is never passed on: BIRD gets the withdrawal instead.
    await waitFor(() => birdText(prefix), {
      describe: `BIRD without ${prefix}`,
      until: (t) => t === undefined,
    });
    const st = await raw.state();
    expect(st.established).toBe(true);
    expect(st.received.filter((r) => r.type === 3)).toEqual([]);
    await expectHealthy();
  });

  // ---- attribute-discard and duplicates ----
  test('raw: AGGREGATOR with AS 0 → installed without it, BIRD sees no aggregator (RFC 7607 §2)', async () => {
    const prefix = '10.244.233.0/24';
    await raw.send(VALID(prefix, [attr(0xc0, 7, [0, 0, 0, 0, 198, 51, 100, 3])]));
    await waitMargayRoute(m, prefix, { peer: IP.raw });
    const attrs = await waitFor(() => birdAttributes(prefix), { describe: `BIRD has ${prefix}` });
    expect(attrs?.['BGP.as_path']).toBe('64512 65099');
    expect(Object.keys(attrs ?? {})).not.toContain('BGP.aggregator');
    await expectHealthy();
  });

  test('raw (eBGP): LOCAL_PREF of 3 bytes is discarded, the route kept; a good one is ignored (RFC 7606 §7.5)', async () => {
    const malformed = '10.244.234.0/24';
    await raw.send(VALID(malformed, [attr(0x40, 5, [0, 0, 1])]));
    const p = await waitMargayRoute(m, malformed, { peer: IP.raw });
    expect(p.asPath).toBe('65099');
    await waitFor(() => birdText(malformed), { describe: `BIRD has ${malformed}` });
    // RFC 4271 §5.1.5: a LOCAL_PREF from an external peer does not count; 100 is used.
    const wellFormed = '10.244.236.0/24';
    await raw.send(VALID(wellFormed, [attr(0x40, 5, [0, 0, 0x01, 0xf4])]));
    expect((await waitMargayRoute(m, wellFormed, { peer: IP.raw })).localPref).toBe(100);
    const st = await raw.state();
    expect(st.established).toBe(true);
    expect(st.received.filter((r) => r.type === 3)).toEqual([]);
    await expectHealthy();
  });

  test('raw: duplicate COMMUNITIES → the first is kept, the repeat discarded (RFC 7606 §3.g)', async () => {
    const prefix = '10.244.230.0/24';
    await raw.send(VALID(prefix, [communities([65099, 1]), communities([65099, 2])]));
    const p = await waitMargayRoute(m, prefix, { peer: IP.raw });
    expect(p.communities).toEqual(['65099:1']);
    await expectHealthy();
  });

  test('raw: ATOMIC_AGGREGATE with a length of 1 → installed without it (RFC 7606 §7.6)', async () => {
    const prefix = '10.244.231.0/24';
    await raw.send(VALID(prefix, [attr(0x40, 6, [1])]));
    await waitMargayRoute(m, prefix, { peer: IP.raw });
    const attrs = await waitFor(() => birdAttributes(prefix), { describe: `BIRD has ${prefix}` });
    expect(Object.keys(attrs ?? {})).not.toContain('BGP.atomic_aggr');
    await expectHealthy();
  });

  test('raw: unknown optional non-transitive attribute in a raw UPDATE → installed, not passed on', async () => {
    const prefix = '10.244.232.0/24';
    await raw.send(VALID(prefix, [attr(0x80, 0xf0, [9, 9])]));
    await waitMargayRoute(m, prefix, { peer: IP.raw });
    const text = await waitFor(() => birdText(prefix), { describe: `BIRD has ${prefix}` });
    expect(text).toContain('BGP.as_path: 64512 65099');
    expect(text).not.toMatch(/BGP\.f0/);
    await expectHealthy();
  });

  // ---- session reset: the NOTIFICATION the raw peer receives ----
  const resets: [string, number, number, () => Buffer][] = [
    [
      'NLRI prefix length 33 → 3/10 Invalid Network Field',
      3,
      10,
      () =>
        update({
          attrs: [ORIGIN_IGP, asPath(AS.raw), nextHop(IP.raw)],
          nlri: [Buffer.from([33, 10, 244, 240, 0, 0])],
        }),
    ],
    [
      'NLRI running past the message → 3/10 Invalid Network Field',
      3,
      10,
      () =>
        update({ attrs: [ORIGIN_IGP, asPath(AS.raw), nextHop(IP.raw)], nlri: [Buffer.from([24, 10, 244])] }),
    ],
    [
      'MP_REACH_NLRI (IPv6) with a next-hop length of 5 → 3/9 Optional Attribute Error (RFC 7606 §7.11)',
      3,
      9,
      () =>
        update({
          attrs: [
            attr(
              0x90,
              14,
              [0, 2, 1, 5, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 48, 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x41],
            ),
            ORIGIN_IGP,
            asPath(AS.raw),
          ],
        }),
    ],
    [
      'unknown well-known attribute (flags 0x40, type 0xf2) → 3/2 Unrecognized Well-known Attribute',
      3,
      2,
      () => VALID('10.244.241.0/24', [attr(0x40, 0xf2, [1])]),
    ],
    [
      'Withdrawn Routes Length beyond the message → 3/1 Malformed Attribute List',
      3,
      1,
      () => {
        const u = update({ withdrawn: ipv4Prefix('10.244.242.0/24') });
        u.writeUInt16BE(200, 19);
        return u;
      },
    ],
  ];
  for (const [name, code, subcode, malformed] of resets) {
    test(`raw: ${name}; the process and other sessions stay up`, async () => {
      const keep = '10.244.235.0/24';
      if (!(await raw.state()).established) await raw.connect();
      await waitMargayEstablished(m, IP.raw);
      await raw.send(VALID(keep));
      await waitMargayRoute(m, keep, { peer: IP.raw });
      await raw.send(malformed());
      const st = await waitFor(() => raw.state(), {
        describe: 'the raw peer receives our NOTIFICATION',
        until: (s) => s.received.some((r) => r.type === 3),
      });
      expect(st.received.find((r) => r.type === 3)).toMatchObject({ code, subcode });
      await waitFor(() => m.peer(IP.raw), {
        describe: 'margay drops the raw session',
        until: (p) => p.state !== 'Established',
      });
      // The session's routes go with it; nothing else is lost.
      await waitMargayNoRoute(m, keep);
      expect((await m.peer(IP.raw)).lastError).toMatch(/^Error: /);
      await expectHealthy();
      expect((await m.routes({ prefix: TRANSITIVE })).length).toBe(1);
    });
  }
});
