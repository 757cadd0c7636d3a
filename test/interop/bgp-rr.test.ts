// Route reflection (RFC 4456) with real peers.
// 1. `margay speaker` as route reflector (cluster id 192.0.2.100) for three clients in AS
//    64512 — BIRD, GoBGP and another `margay speaker` — each announcing one route: every client
//    gets the other two with ORIGINATOR_ID = the originating client's router id and
//    CLUSTER_LIST = [192.0.2.100] (BIRD `show route all`, GoBGP -j, our REST API).
// 2. `margay speaker` as a client of a BIRD route reflector: another BIRD client's route reaches
//    us with ORIGINATOR_ID/CLUSTER_LIST (REST API), and ours reaches that client.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gobgpPaths } from './bgp/gobgp-paths.ts';
import { type MargayHandle, startMargay, waitMargayRoute } from './bgp/margay.ts';
import {
  type BirdHandle,
  birdConfig,
  type GobgpHandle,
  gobgpAddRoute,
  gobgpConfig,
  Lab,
  parseRoutesAll,
  startBird,
  startGobgp,
  waitFor,
} from './lib/index.ts';

const AS = 64512;
const CLUSTER = '192.0.2.100';

async function birdPath(bird: BirdHandle, prefix: string) {
  try {
    return parseRoutesAll(await bird.birdc(`show route ${prefix} all`)).find((r) => r.prefix === prefix);
  } catch {
    return undefined; // "Network not found"
  }
}

describe('margay speaker as route reflector for BIRD, GoBGP and margay clients', () => {
  const lab = new Lab();
  const IP = { rr: '192.0.2.1', bird: '192.0.2.2', gobgp: '192.0.2.3', mc: '192.0.2.4' } as const;
  const ROUTE = { bird: '10.244.11.0/24', gobgp: '10.244.12.0/24', mc: '10.244.13.0/24' } as const;
  let bird: BirdHandle;
  let gobgp: GobgpHandle;
  let mc: MargayHandle;

  beforeAll(async () => {
    const seg = await lab.addSegment('u');
    const ns: Record<string, string> = {};
    for (const [name, addr] of Object.entries(IP)) {
      ns[name] = await lab.addNamespace(name);
      await seg.attach({ ns: ns[name] as string, ifname: 'eth0', ipv4: `${addr}/24` });
    }
    [, bird, gobgp, mc] = await Promise.all([
      startMargay(lab, ns.rr as string, {
        asn: AS,
        routerId: IP.rr,
        clusterId: CLUSTER,
        peers: [IP.bird, IP.gobgp, IP.mc].map((address) => ({
          address,
          asn: AS,
          routeReflectorClient: true,
        })),
      }),
      startBird(
        lab,
        ns.bird as string,
        birdConfig({
          routerId: IP.bird,
          localAs: AS,
          neighbors: [{ name: 'reflector', address: IP.rr, remoteAs: AS, extra: ['direct;'] }],
          staticRoutes: [{ prefix: ROUTE.bird }],
        }),
      ),
      startGobgp(
        lab,
        ns.gobgp as string,
        gobgpConfig({ routerId: IP.gobgp, localAs: AS, neighbors: [{ address: IP.rr, remoteAs: AS }] }),
      ),
      startMargay(lab, ns.mc as string, {
        asn: AS,
        routerId: IP.mc,
        peers: [{ address: IP.rr, asn: AS }],
        announce: [{ prefix: ROUTE.mc }],
      }),
    ]);
    await gobgpAddRoute(gobgp, { prefix: ROUTE.gobgp, nextHop: IP.gobgp });
  });
  afterAll(() => lab.teardown());

  test('BIRD gets the GoBGP and margay clients’ routes with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    for (const [prefix, originator] of [
      [ROUTE.gobgp, IP.gobgp],
      [ROUTE.mc, IP.mc],
    ] as const) {
      const r = await waitFor(() => birdPath(bird, prefix), {
        describe: `BIRD has ${prefix}`,
        timeoutMs: 20_000,
      });
      expect(r?.originatorId).toBe(originator);
      expect(r?.clusterList).toEqual([CLUSTER]);
      expect(r?.bgpNextHop).toEqual([originator]);
    }
  });

  test('GoBGP gets the BIRD and margay clients’ routes with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    for (const [prefix, originator] of [
      [ROUTE.bird, IP.bird],
      [ROUTE.mc, IP.mc],
    ] as const) {
      const p = await waitFor(async () => (await gobgpPaths(gobgp, prefix))[0], {
        describe: `GoBGP has ${prefix}`,
      });
      expect(p?.originatorId).toBe(originator);
      expect(p?.clusterList).toEqual([CLUSTER]);
      expect(p?.nextHops).toEqual([originator]);
    }
  });

  test('the margay client gets the BIRD and GoBGP clients’ routes with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    for (const [prefix, originator] of [
      [ROUTE.bird, IP.bird],
      [ROUTE.gobgp, IP.gobgp],
    ] as const) {
      const p = await waitMargayRoute(mc, prefix, { peer: IP.rr });
      expect(p).toMatchObject({
        originatorId: originator,
        clusterList: [CLUSTER],
        nextHop: originator,
        asPath: '',
      });
    }
  });
});

describe('margay speaker as a client of a BIRD route reflector', () => {
  const lab = new Lab();
  const IP = { rr: '192.0.2.1', m: '192.0.2.2', c: '192.0.2.3' } as const;
  let client: BirdHandle;
  let m: MargayHandle;

  beforeAll(async () => {
    const seg = await lab.addSegment('u');
    const ns: Record<string, string> = {};
    for (const [name, addr] of Object.entries(IP)) {
      ns[name] = await lab.addNamespace(name);
      await seg.attach({ ns: ns[name] as string, ifname: 'eth0', ipv4: `${addr}/24` });
    }
    [, client, m] = await Promise.all([
      startBird(
        lab,
        ns.rr as string,
        birdConfig({
          routerId: IP.rr,
          localAs: AS,
          neighbors: [IP.m, IP.c].map((address, i) => ({
            name: `c${i}`,
            address,
            remoteAs: AS,
            routeReflectorClient: true,
            rrClusterId: CLUSTER,
            extra: ['direct;'],
          })),
        }),
      ),
      startBird(
        lab,
        ns.c as string,
        birdConfig({
          routerId: IP.c,
          localAs: AS,
          neighbors: [{ name: 'reflector', address: IP.rr, remoteAs: AS, extra: ['direct;'] }],
          staticRoutes: [{ prefix: '10.244.21.0/24', communities: [[64512, 21]] }],
        }),
      ),
      startMargay(lab, ns.m as string, {
        asn: AS,
        routerId: IP.m,
        peers: [{ address: IP.rr, asn: AS }],
        announce: [{ prefix: '10.244.22.0/24' }],
      }),
    ]);
  });
  afterAll(() => lab.teardown());

  test('the other client’s route reaches us with ORIGINATOR_ID and CLUSTER_LIST (REST API)', async () => {
    const p = await waitMargayRoute(m, '10.244.21.0/24', { peer: IP.rr, timeoutMs: 20_000 });
    expect(p).toMatchObject({
      originatorId: IP.c,
      clusterList: [CLUSTER],
      nextHop: IP.c,
      communities: ['64512:21'],
      best: true,
    });
  });

  test('our route reaches the other client, reflected', async () => {
    const r = await waitFor(() => birdPath(client, '10.244.22.0/24'), {
      describe: 'BIRD client has our route',
    });
    expect(r?.originatorId).toBe(IP.m);
    expect(r?.clusterList).toEqual([CLUSTER]);
    expect(r?.bgpNextHop).toEqual([IP.m]);
  });
});
