// ADD-PATH (RFC 7911) between route reflectors and their clients, with real peers, IPv4 and IPv6
// (one session per family, over IPv4 and over IPv6). Two `margay speaker` nodes, n1 and n2,
// announce the same prefix (an anycast /32 and /128) to three route reflectors:
// 1. a `margay speaker` reflector (`addPaths: send`) to a BIRD client (`add paths rx`, kernel
//    `merge paths`) and an FRR client (receives ADD-PATH by default, `maximum-paths ibgp`): each
//    client has both paths — both next hops — in its BGP table and one ECMP route with both next
//    hops in its kernel;
// 2. a BIRD reflector (`add paths tx`) and an FRR reflector (`addpath-tx-all-paths`) to a
//    `margay speaker` client (`addPaths: receive`, maxPaths 4): its RIB holds both paths from
//    each reflector, in the ECMP set;
// 3. n1 stops: every client is left with n2's path only (withdrawal by path identifier).
// Without ADD-PATH each client would get one path per reflector (the reflector's best).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type MargayHandle, startMargay } from './bgp/margay.ts';
import {
  type BirdHandle,
  birdConfig,
  type FrrHandle,
  frrConfig,
  frrRoutes,
  Lab,
  parseRoutesAll,
  startBird,
  startFrr,
  waitFor,
} from './lib/index.ts';

const AS = 64512;
const HOST = { n1: 1, n2: 2, rr: 10, brr: 11, frr: 12, mc: 20, birdc: 21, frrc: 22 } as const;
type Host = keyof typeof HOST;
const v4 = (h: Host) => `192.0.2.${HOST[h]}`;
const v6 = (h: Host) => `2001:db8::${HOST[h].toString(16)}`;
const ANY = { 4: '10.96.0.10/32', 6: '2001:db8:96::10/128' } as const;
const FAMILIES = [4, 6] as const;
const addr = (h: Host, f: 4 | 6) => (f === 4 ? v4(h) : v6(h));
/** The two next hops of the anycast prefix, per family. */
const BOTH = { 4: [v4('n1'), v4('n2')], 6: [v6('n1'), v6('n2')] } as const;

describe('ADD-PATH between route reflectors and clients (BIRD, FRR, margay; IPv4 and IPv6)', () => {
  const lab = new Lab();
  const ns = {} as Record<Host, string>;
  let n1: MargayHandle;
  let mc: MargayHandle;
  let birdc: BirdHandle;
  let frrc: FrrHandle;

  beforeAll(async () => {
    const seg = await lab.addSegment('u');
    for (const h of Object.keys(HOST) as Host[]) {
      ns[h] = await lab.addNamespace(h);
      await seg.attach({ ns: ns[h], ifname: 'eth0', ipv4: `${v4(h)}/24`, ipv6: `${v6(h)}/64` });
    }
    const both = (h: Host, extra: object = {}) =>
      FAMILIES.map((f) => ({ address: addr(h, f), asn: AS, ...extra }));
    const node = (h: 'n1' | 'n2') =>
      startMargay(lab, ns[h], {
        asn: AS,
        routerId: v4(h),
        peers: [...both('rr'), ...both('brr'), ...both('frr')],
        announce: [{ prefix: ANY[4] }, { prefix: ANY[6] }],
      });
    // BIRD's session to each client, one per family; `direct`: no IGP, next hops on the link.
    const birdNeighbors = (hosts: readonly Host[], channel: (f: 4 | 6) => object, extra: object) =>
      hosts.flatMap((h) =>
        FAMILIES.map((f) => ({
          name: `${h}_${f}`,
          address: addr(h, f),
          remoteAs: AS,
          extra: ['direct;'],
          ipv4: f === 4 ? channel(4) : false,
          ipv6: f === 6 ? channel(6) : false,
          ...extra,
        })),
      );
    const frrNeighbors = (hosts: readonly Host[], extra: object) =>
      hosts.flatMap((h) =>
        FAMILIES.map((f) => ({ address: addr(h, f), remoteAs: AS, ipv4: f === 4, ipv6: f === 6, ...extra })),
      );
    const frrMultipath = [4, 6].flatMap((f) => [
      `address-family ipv${f} unicast`,
      ' maximum-paths ibgp 4',
      'exit-address-family',
    ]);
    [n1, , , mc, birdc, frrc] = await Promise.all([
      node('n1'),
      node('n2'),
      startMargay(lab, ns.rr, {
        asn: AS,
        routerId: v4('rr'),
        clusterId: '192.0.2.100',
        peers: [
          ...both('n1', { routeReflectorClient: true }),
          ...both('n2', { routeReflectorClient: true }),
          ...both('birdc', { routeReflectorClient: true, addPaths: 'send' }),
          ...both('frrc', { routeReflectorClient: true, addPaths: 'send' }),
        ],
      }),
      startMargay(lab, ns.mc, {
        asn: AS,
        routerId: v4('mc'),
        maxPaths: 4,
        peers: [...both('brr', { addPaths: 'receive' }), ...both('frr', { addPaths: 'receive' })],
      }),
      startBird(
        lab,
        ns.birdc,
        birdConfig({
          routerId: v4('birdc'),
          localAs: AS,
          neighbors: birdNeighbors(['rr'], () => ({ addPaths: 'rx' }), {}),
          extra: [4, 6]
            .map((f) => `protocol kernel k${f} { ipv${f} { export where proto ~ "rr_*"; }; merge paths on; }`)
            .join('\n'),
        }),
      ),
      startFrr(
        lab,
        ns.frrc,
        frrConfig({
          routerId: v4('frrc'),
          localAs: AS,
          neighbors: frrNeighbors(['rr'], {}),
          extra: frrMultipath,
        }),
      ),
      startBird(
        lab,
        ns.brr,
        birdConfig({
          routerId: v4('brr'),
          localAs: AS,
          neighbors: [
            ...birdNeighbors(['n1', 'n2'], () => ({}), {
              routeReflectorClient: true,
              rrClusterId: '192.0.2.101',
            }),
            ...birdNeighbors(['mc'], () => ({ addPaths: 'tx' }), {
              routeReflectorClient: true,
              rrClusterId: '192.0.2.101',
            }),
          ],
        }),
      ),
      startFrr(
        lab,
        ns.frr,
        frrConfig({
          routerId: v4('frr'),
          localAs: AS,
          clusterId: '192.0.2.102',
          neighbors: [
            ...frrNeighbors(['n1', 'n2'], { routeReflectorClient: true }),
            ...frrNeighbors(['mc'], { routeReflectorClient: true, addPathTxAll: true }),
          ],
        }),
      ),
    ]);
  }, 60_000);
  afterAll(() => lab.teardown());

  /** BIRD's BGP next hops of `prefix` (one per path). */
  async function birdNextHops(bird: BirdHandle, prefix: string): Promise<string[]> {
    try {
      const routes = parseRoutesAll(await bird.birdc(`show route ${prefix} all`));
      return routes.filter((r) => r.prefix === prefix).map((r) => r.bgpNextHop[0] ?? '');
    } catch {
      return []; // "Network not found"
    }
  }

  /** The next hops of the kernel route to `prefix` in `h`'s namespace. */
  async function kernelNextHops(h: Host, prefix: string): Promise<string[]> {
    const { stdout } = await lab.exec(ns[h], [
      'ip',
      prefix.includes(':') ? '-6' : '-4',
      'route',
      'show',
      prefix,
    ]);
    return [...stdout.matchAll(/via (\S+)/g)].map((m) => m[1] as string);
  }

  async function frrNextHops(f: 4 | 6): Promise<string[]> {
    return (await frrRoutes(frrc, `ipv${f}`))
      .filter((r) => r.prefix === ANY[f])
      .map((r) => r.nextHops[0] ?? '');
  }

  /** The margay client's paths of `prefix` from reflector `from`: next hops and ECMP flags. */
  async function mcPaths(prefix: string, from: string) {
    return (await mc.routes({ prefix, peer: from })).map((p) => ({
      nextHop: p.nextHop,
      multipath: p.multipath,
    }));
  }

  const sorted = (xs: readonly string[]) => [...xs].sort();

  /** A client of the margay reflector has both paths (`hops`) and an ECMP kernel route over both nodes. */
  const expectBothPaths = async (
    client: 'birdc' | 'frrc',
    f: 4 | 6,
    hopsOf: () => Promise<string[]>,
  ): Promise<void> => {
    const name = client === 'birdc' ? 'BIRD' : 'FRR';
    const hops = await waitFor(hopsOf, {
      describe: `${name} client has both paths of ${ANY[f]}`,
      until: (h) => h.length === 2,
    });
    expect(sorted(hops)).toEqual(BOTH[f]);
    const kernel = await waitFor(() => kernelNextHops(client, ANY[f]), {
      describe: `${name} client's kernel routes ${ANY[f]} over both nodes`,
      until: (h) => h.length === 2,
    });
    expect(sorted(kernel)).toEqual(BOTH[f]);
  };

  test.each(FAMILIES)(
    'IPv%s: the BIRD client of the margay reflector has both paths, and an ECMP kernel route',
    (f) => expectBothPaths('birdc', f, () => birdNextHops(birdc, ANY[f])),
  );

  test.each(FAMILIES)(
    'IPv%s: the FRR client of the margay reflector has both paths, and an ECMP kernel route',
    (f) => expectBothPaths('frrc', f, () => frrNextHops(f)),
  );

  test.each(FAMILIES)(
    'IPv%s: the margay client gets both paths from the BIRD and the FRR reflector, in its ECMP set',
    async (f) => {
      for (const rr of ['brr', 'frr'] as const) {
        const paths = await waitFor(() => mcPaths(ANY[f], addr(rr, f)), {
          describe: `margay client has both paths of ${ANY[f]} from ${rr}`,
          until: (p) => p.length === 2,
        });
        expect(sorted(paths.map((p) => p.nextHop))).toEqual(BOTH[f]);
      }
      // Four paths (two per reflector), all in the ECMP set: two next hops for the kernel.
      const all = await waitFor(() => mc.routes({ prefix: ANY[f] }), {
        describe: `every path of ${ANY[f]} in the ECMP set`,
        until: (p) => p.length === 4 && p.every((x) => x.multipath || x.best),
      });
      expect(sorted([...new Set(all.map((p) => p.nextHop))])).toEqual(BOTH[f]);
    },
  );

  test('n1 stops: every client keeps n2’s path only, IPv4 and IPv6', async () => {
    await n1.stop();
    for (const f of FAMILIES) {
      const only = [addr('n2', f)];
      expect(
        await waitFor(() => birdNextHops(birdc, ANY[f]), {
          describe: 'BIRD client: n2 only',
          until: (h) => h.length === 1,
        }),
      ).toEqual(only);
      expect(
        await waitFor(() => frrNextHops(f), {
          describe: 'FRR client: n2 only',
          until: (h) => h.length === 1,
        }),
      ).toEqual(only);
      for (const rr of ['brr', 'frr'] as const) {
        const paths = await waitFor(() => mcPaths(ANY[f], addr(rr, f)), {
          describe: `margay client: n2 only from ${rr}`,
          until: (p) => p.length === 1,
        });
        expect(paths.map((p) => p.nextHop)).toEqual(only);
      }
      expect(
        await waitFor(() => kernelNextHops('frrc', ANY[f]), {
          describe: 'FRR kernel: n2 only',
          until: (h) => h.length === 1,
        }),
      ).toEqual(only);
    }
  });
});
