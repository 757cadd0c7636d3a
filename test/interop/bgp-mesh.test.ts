// Four `margay speaker` nodes in a full iBGP mesh (AS 64512) plus a BIRD top-of-rack
// (AS 65000) over eBGP with each — the Calico node-to-node mesh with a ToR. Every node learns
// every other node's pod CIDR (REST API); BIRD learns all four with the right next hops and AS
// paths, each CIDR from its own node only (the ToR session has `exportPolicy: local`, as the
// agent configures routers that are not nodes: Calico exports only a node's own blocks);
// BIRD's route reaches all four; node 1 stops (SIGTERM) → everyone withdraws its CIDR.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type MargayHandle,
  startMargay,
  waitMargayEstablished,
  waitMargayNoRoute,
  waitMargayRoute,
} from './bgp/margay.ts';
import { type BirdHandle, birdConfig, Lab, parseRoutesAll, startBird, waitFor } from './lib/index.ts';

const NODES = [1, 2, 3, 4] as const;
const nodeIp = (i: number): string => `192.0.2.${i}`;
const podCidr = (i: number): string => `10.244.${30 + i}.0/24`;
const TOR = { ip: '192.0.2.254', as: 65000, route: '10.244.100.0/24' } as const;
const AS = 64512;

describe('four-node iBGP full mesh of margay speakers + BIRD top-of-rack (eBGP)', () => {
  const lab = new Lab();
  const nodes = new Map<number, MargayHandle>();
  let tor: BirdHandle;

  const torPaths = async (prefix: string) => {
    try {
      return parseRoutesAll(await tor.birdc(`show route ${prefix} all`)).filter((r) => r.prefix === prefix);
    } catch {
      return []; // "Network not found"
    }
  };

  beforeAll(async () => {
    const seg = await lab.addSegment('u');
    const ns = new Map<number, string>();
    for (const i of NODES) {
      ns.set(i, await lab.addNamespace(`n${i}`));
      await seg.attach({ ns: ns.get(i) as string, ifname: 'eth0', ipv4: `${nodeIp(i)}/24` });
    }
    const torNs = await lab.addNamespace('tor');
    await seg.attach({ ns: torNs, ifname: 'eth0', ipv4: `${TOR.ip}/24` });
    const started = await Promise.all([
      startBird(
        lab,
        torNs,
        birdConfig({
          routerId: TOR.ip,
          localAs: TOR.as,
          neighbors: NODES.map((i) => ({ name: `n${i}`, address: nodeIp(i), remoteAs: AS })),
          staticRoutes: [{ prefix: TOR.route }],
        }),
      ),
      ...NODES.map((i) =>
        startMargay(lab, ns.get(i) as string, {
          asn: AS,
          routerId: nodeIp(i),
          peers: [
            ...NODES.filter((j) => j !== i).map((j) => ({ address: nodeIp(j), asn: AS })),
            { address: TOR.ip, asn: TOR.as, exportPolicy: 'local' as const },
          ],
          announce: [{ prefix: podCidr(i) }],
        }),
      ),
    ]);
    tor = started[0] as BirdHandle;
    for (const i of NODES) nodes.set(i, started[i] as MargayHandle);
  });
  afterAll(() => lab.teardown());

  test('every session is Established', async () => {
    for (const i of NODES) {
      const n = nodes.get(i) as MargayHandle;
      for (const j of NODES) if (j !== i) await waitMargayEstablished(n, nodeIp(j));
      await waitMargayEstablished(n, TOR.ip);
    }
  });

  test('every node learns every other node’s pod CIDR from that node (iBGP, next hop = the node)', async () => {
    for (const i of NODES) {
      for (const j of NODES) {
        if (j === i) continue;
        const p = await waitMargayRoute(nodes.get(i) as MargayHandle, podCidr(j), {
          peer: nodeIp(j),
          until: (x) => x.best,
        });
        expect(p).toMatchObject({ nextHop: nodeIp(j), asPath: '', localPref: 100 });
      }
    }
  });

  test('BIRD learns all four CIDRs, each from exactly its own node (next hop = the node, AS path 64512)', async () => {
    for (const i of NODES) {
      const paths = await waitFor(() => torPaths(podCidr(i)), {
        describe: `BIRD has ${podCidr(i)} from n${i}`,
        until: (ps) => ps.some((p) => p.protocol === `n${i}`),
      });
      const direct = paths.find((p) => p.protocol === `n${i}`);
      expect(direct?.bgpNextHop).toEqual([nodeIp(i)]);
      expect(direct?.asPath).toEqual([AS]);
    }
    // Every session has sent its whole table by now: no node passed on a CIDR it learned.
    for (const i of NODES) {
      const paths = await torPaths(podCidr(i));
      expect(paths.map((p) => p.protocol)).toEqual([`n${i}`]);
    }
  });

  test('the BIRD route reaches all four nodes', async () => {
    for (const i of NODES) {
      const p = await waitMargayRoute(nodes.get(i) as MargayHandle, TOR.route, { peer: TOR.ip });
      expect(p).toMatchObject({ nextHop: TOR.ip, asPath: String(TOR.as), best: true });
    }
  });

  test('node 1 stops: every other node and BIRD withdraw its CIDR; nothing else is lost', async () => {
    await (nodes.get(1) as MargayHandle).stop();
    for (const i of [2, 3, 4]) await waitMargayNoRoute(nodes.get(i) as MargayHandle, podCidr(1));
    await waitFor(() => torPaths(podCidr(1)), {
      describe: `BIRD without ${podCidr(1)}`,
      until: (ps) => ps.length === 0,
    });
    for (const i of [2, 3, 4]) {
      const n = nodes.get(i) as MargayHandle;
      // The session went down on node 1's Cease. The peer's lastError is not read for this: the
      // node keeps trying to connect to node 1, and a refused attempt replaces it.
      const downs = readFileSync(n.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event?: string; address?: string; from?: string; reason?: string })
        .filter(
          (e) => e.event === 'bgp.peerStateChanged' && e.address === nodeIp(1) && e.from === 'Established',
        );
      expect(
        downs.map((e) => e.reason),
        `node ${i}`,
      ).toEqual([expect.stringMatching(/^Received: Administrative shutdown/)]);
      for (const j of [2, 3, 4])
        if (j !== i) expect((await n.routes({ prefix: podCidr(j) })).length).toBeGreaterThan(0);
      expect((await n.routes({ prefix: TOR.route })).length).toBeGreaterThan(0);
    }
    for (const i of [2, 3, 4]) expect((await torPaths(podCidr(i))).length).toBeGreaterThan(0);
  });
});
