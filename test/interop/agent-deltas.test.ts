// The agent hands the kernel only what moved: the real Agent (in this process) with a file
// datastore, its real Dataplane programming a network namespace of this test, and its real Speaker
// peering over 127.0.0.1 with a Speaker of the test (an iBGP "ToR" announcing node-2's pod CIDR
// with node-2 as next hop, as a route reflector would).
//
//   - a best-path change (the ToR moves node-2's pod CIDR to node-3 as next hop) changes the
//     kernel route and writes no iptables and no ipset byte;
//   - a label change of a pod on another node that a policy's peer selector picks writes ipset
//     members only (no iptables byte, no route);
//   - a pod added on this node gets its /32 route and its endpoint chains.
// Every change is checked in the kernel (ip route, ipset save, iptables-save), so a change that
// wrote nothing cannot pass for one that wrote little.
//
// Only the namespace this file creates (`mgyd-<pid>-…`) is touched; the lab deletes it in
// afterAll, also on failure. BGP runs on 127.0.0.1 only.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Speaker } from '../../bgp/speaker/speaker.ts';
import type { DataplaneStatus } from '../../felix/dataplane/dataplane.ts';
import { run } from '../../felix/dataplane/exec.ts';
import { workloadIfaceName } from '../../felix/model/endpoints.ts';
import { agentStatusSource } from '../../src/api/agent-status.ts';
import { parseAgentConfig } from '../../src/config/agent.ts';
import { Agent } from '../../src/daemon/agent.ts';
import { FileDatastore } from '../../src/datastore/file/file-datastore.ts';
import { setLogLevel } from '../../src/log.ts';
import { freePort } from '../support/net.ts';
import { requirePrograms } from '../support/programs.ts';
import { until as untilWithin } from '../support/until.ts';
import { Lab } from './lib/lab.ts';

/** Waits up to 15 s: the changes here go through the file datastore's settle time and a pass. */
const until = <T>(probe: () => Promise<T> | T, what: string) => untilWithin(probe, what, 15_000);

const isRoot = process.getuid?.() === 0;

const node = (n: number) => `apiVersion: v1
kind: Node
metadata: { name: node-${n}, annotations: { margay.io/ipv4-address: 192.0.2.${10 + n}/24 } }
spec: { podCIDRs: [10.244.${n}.0/24] }
`;
const pod = (name: string, nodeName: string, ip: string, app: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: shop, labels: { app: ${app} } }
spec: { nodeName: ${nodeName}, containers: [{ name: c }] }
status: { phase: Running, podIP: ${ip}, podIPs: [{ ip: ${ip} }] }
`;
const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db, namespace: shop }
spec:
  podSelector: { matchLabels: { app: db } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: web } } }] }]
`;

describe.skipIf(!isRoot)('agent: each change reaches the kernel, and only it', () => {
  const lab = isRoot ? new Lab({ prefix: `mgyd-${process.pid}-` }) : undefined;
  let ns = '';
  let agent: Agent;
  let tor: Speaker;
  let datastorePath = '';
  let docs: string[] = [];
  let status: () => DataplaneStatus;

  const save = (next: string[]) => {
    docs = next;
    writeFileSync(`${datastorePath}.tmp`, docs.join('---\n'));
    renameSync(`${datastorePath}.tmp`, datastorePath);
  };
  const routeVia = async (dst: string) =>
    /via (\S+)/.exec((await run({ argv: ['ip', '-n', ns, 'route', 'show', dst] })).stdout)?.[1];
  const ipsetHas = async (member: string) => {
    const saved = (await run({ argv: ['ipset', 'save'], netns: ns })).stdout;
    return saved.split('\n').filter((l) => l.startsWith('add ') && l.endsWith(` ${member}`)).length;
  };
  /** What the dataplane wrote while `fn` ran and the agent settled. */
  const written = async (fn: () => Promise<void>) => {
    const before = status().io;
    await fn();
    await agent.idle();
    const after = status().io;
    return {
      iptables: after.iptablesBytesWritten - before.iptablesBytesWritten,
      ipset: after.ipsetBytesWritten - before.ipsetBytesWritten,
      routeLines: after.routeLinesWritten - before.routeLinesWritten,
    };
  };

  beforeAll(async () => {
    requirePrograms('ip', 'ipset', 'iptables-nft-save');
    setLogLevel('error');
    ns = await lab!.addNamespace('node');
    await lab!.exec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    await lab!.exec(ns, ['ip', 'addr', 'add', '192.0.2.11/24', 'dev', 'eth0']);
    for (const l of ['eth0', 'eth0p']) await lab!.exec(ns, ['ip', 'link', 'set', l, 'up']);
    // The host side of the local pods' veths, as the CNI plugin leaves them.
    for (const [name, peer] of [
      ['db-1', 'mgp1'],
      ['web-9', 'mgp2'],
    ] as const) {
      const host = workloadIfaceName('shop', name);
      await lab!.exec(ns, ['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      for (const l of [host, peer]) await lab!.exec(ns, ['ip', 'link', 'set', l, 'up']);
    }

    const agentPort = await freePort();
    const torPort = await freePort();
    tor = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: { address: '127.0.0.1', port: torPort } });
    tor.setPeers([{ address: '127.0.0.1', port: agentPort, asn: 64512, passive: true }]);
    tor.setLocalRoutes([{ prefix: '10.244.2.0/24', nextHop: '192.0.2.12' }]);
    await tor.start();

    datastorePath = join(lab!.dir, 'cluster.yaml');
    save([
      node(1),
      node(2),
      node(3),
      `apiVersion: margay.io/v1
kind: BGPConfiguration
metadata: { name: default }
spec: { asNumber: 64512, nodeToNodeMeshEnabled: false, listenPort: ${agentPort} }
`,
      `apiVersion: margay.io/v1
kind: BGPPeer
metadata: { name: tor }
spec: { peerIP: "127.0.0.1:${torPort}", asNumber: 64512, sourceAddress: None }
`,
      `apiVersion: margay.io/v1
kind: IPPool
metadata: { name: pods }
spec: { cidr: 10.244.0.0/16 }
`,
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n',
      POLICY,
      pod('db-1', 'node-1', '10.244.1.5', 'db'),
      pod('web-2', 'node-2', '10.244.2.5', 'web'),
      pod('tool-2', 'node-2', '10.244.2.6', 'tool'),
    ]);
    const config = parseAgentConfig({
      nodeName: 'node-1',
      datastore: { type: 'file', path: datastorePath },
      bgp: { enabled: true, listenAddress: '127.0.0.1' },
      dataplane: { resyncIntervalSeconds: 3600 },
      logLevel: 'error',
    });
    agent = new Agent({ config, datastore: new FileDatastore({ path: datastorePath }), netns: ns });
    const api = agentStatusSource(agent.view(), () => []);
    status = () => api.status().dataplane as DataplaneStatus;
    await agent.start();
    await until(async () => (await routeVia('10.244.2.0/24')) === '192.0.2.12', 'the route from the ToR');
    await agent.idle();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await tor?.stop({ message: 'test over' });
    await lab?.teardown();
  });

  it('starts: blackhole announced to the ToR, its route programmed, policy sets filled', async () => {
    expect(status()).toMatchObject({ ready: true, inSync: true });
    await until(
      () => tor.routes({ prefix: '10.244.1.0/24' }).length > 0,
      'our pod CIDR at the ToR (announced once its blackhole is programmed)',
    );
    expect((await run({ argv: ['ip', '-n', ns, 'route', 'show', '10.244.1.0/24'] })).stdout).toMatch(
      /^blackhole 10\.244\.1\.0\/24/,
    );
    expect(await ipsetHas('10.244.2.5')).toBeGreaterThan(0);
  });

  it('a best-path change moves the route and writes no iptables or ipset byte', async () => {
    const w = await written(async () => {
      tor.setLocalRoutes([{ prefix: '10.244.2.0/24', nextHop: '192.0.2.13' }]);
      await until(async () => (await routeVia('10.244.2.0/24')) === '192.0.2.13', 'the moved route');
    });
    expect(w).toMatchObject({ iptables: 0, ipset: 0 });
    expect(w.routeLines).toBeGreaterThan(0);
  });

  it("another node's pod relabelled into a peer set writes ipset members only", async () => {
    expect(await ipsetHas('10.244.2.6')).toBe(0);
    const w = await written(async () => {
      save(docs.map((d) => (d.includes('name: tool-2') ? pod('tool-2', 'node-2', '10.244.2.6', 'web') : d)));
      await until(async () => (await ipsetHas('10.244.2.6')) > 0, 'tool-2 in the peer set');
    });
    expect(w).toMatchObject({ iptables: 0, routeLines: 0 });
    expect(w.ipset).toBeGreaterThan(0);
  });

  it('a pod added on this node gets its route and its endpoint chains', async () => {
    const chain = () => run({ argv: ['iptables-nft-save', '-t', 'filter'], netns: ns });
    const before = (await chain()).stdout;
    const w = await written(async () => {
      save([...docs, pod('web-9', 'node-1', '10.244.1.9', 'web')]);
      await until(
        async () =>
          /dev mgy/.test((await run({ argv: ['ip', '-n', ns, 'route', 'show', '10.244.1.9'] })).stdout),
        'the /32 route of web-9',
      );
    });
    expect(w.iptables).toBeGreaterThan(0);
    const after = (await chain()).stdout;
    const chains = (t: string) => new Set(t.split('\n').filter((l) => l.startsWith(':mgy-')));
    expect(chains(after).size).toBeGreaterThan(chains(before).size);
    expect(await ipsetHas('10.244.1.9')).toBeGreaterThan(0);
  });
});
