// The Dataplane (felix/dataplane/dataplane.ts) end to end, in network namespaces only: two "nodes"
// on one L2 segment (192.0.2.1, 192.0.2.2; no default route, nothing connected to the host) with
// three pods each, wired by wirePod; pod CIDRs 10.244.1.0/24 and 10.244.2.0/24 routed over VXLAN
// (Always), NetworkPolicy rendered per node by felix/calc and NAT outgoing by felix/model, both
// handed to one Dataplane per node as two iptables sources.
//
//   (a) drift: on node-2 one of our chains is flushed, our FORWARD jump deleted, a foreign rule
//       inserted before our INPUT jump, a pod route deleted, a member added to one of our ipsets,
//       the FDB entry of node-1's VTEP deleted and a veth's proxy_arp cleared — all repaired
//       within one resync interval (1 s here), while a foreign rule and a foreign route stay and
//       the packet counters of an untouched chain do not move;
//   (b) restart: a second Dataplane (fresh caches) takes over node-2 while a probe loop keeps
//       connecting web-1 → db-2 through both nodes' policy chains and the tunnel: `ip monitor
//       route` sees no event, no rule counter goes back, ipset membership is unchanged, the new
//       instance writes nothing, the probe sees no failure;
//   (d) an apply the kernel rejects (a port iptables refuses) is retried with backoff, reported in
//       status() with its code, and the previous ruleset stays in force; a good state recovers;
//   (c) cleanup removes every route, chain, jump, ipset and device of ours and nothing else.
//
// Teardown: the Lab stops every process it spawned by PID and deletes every namespace it made
// (prefix `mgy-<pid>-<rand>-`), also when a test failed.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPolicy } from '../../felix/calc/render-policy.ts';
import { run } from '../../felix/dataplane/exec.ts';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { enableForwarding, podGatewayAnchorRoute, wirePod } from '../../felix/dataplane/workload/veth.ts';
import { Dataplane, type DataplaneDesired, type IptablesSource } from '../../felix/index.ts';
import { workloadEndpoint, workloadIfaceName } from '../../felix/model/endpoints.ts';
import { renderNatOutgoing } from '../../felix/model/nat-outgoing.ts';
import type { NetworkPolicy, PolicyPod } from '../../felix/model/policy.ts';
import { remoteNodeRoute, vtepMac, vtepTunnelAddress } from '../../felix/model/routes.ts';
import { requirePrograms } from '../support/programs.ts';
import { Lab, type ProcessHandle, waitFor } from './lib/index.ts';

const isRoot = process.getuid?.() === 0;
const RESYNC_MS = 1_000;

type NodeName = 'node-1' | 'node-2';
const NODES: Record<NodeName, { ip: string; podCidr: string; peer: NodeName }> = {
  'node-1': { ip: '192.0.2.1', podCidr: '10.244.1.0/24', peer: 'node-2' },
  'node-2': { ip: '192.0.2.2', podCidr: '10.244.2.0/24', peer: 'node-1' },
};
const PODS = [
  { key: 'web1', name: 'web-1', node: 'node-1', app: 'web', ip: '10.244.1.10' },
  { key: 'db1', name: 'db-1', node: 'node-1', app: 'db', ip: '10.244.1.11' },
  { key: 'tool1', name: 'tool-1', node: 'node-1', app: 'tool', ip: '10.244.1.12' },
  { key: 'web2', name: 'web-2', node: 'node-2', app: 'web', ip: '10.244.2.10' },
  { key: 'db2', name: 'db-2', node: 'node-2', app: 'db', ip: '10.244.2.11' },
  { key: 'tool2', name: 'tool-2', node: 'node-2', app: 'tool', ip: '10.244.2.12' },
] as const;
type PodKey = (typeof PODS)[number]['key'];
const pod = (k: PodKey) => PODS.find((p) => p.key === k)!;
const PORT = 7000;

const DB_FROM_WEB: NetworkPolicy = {
  namespace: 'prod',
  name: 'db-from-web',
  spec: {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
  },
};

// A TCP echo server, and a client loop printing one line per attempt (ok / fail REASON).
const SERVER_PY = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(128)
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2); d = c.recv(1); c.sendall(d)
    except Exception: pass
    c.close()
`;
const PROBE_PY = `
import socket, sys, time
addr, port = sys.argv[1], int(sys.argv[2])
while True:
    try:
        s = socket.create_connection((addr, port), timeout=0.5); s.sendall(b'x')
        ok = s.recv(1) == b'x'; s.close()
        print('ok' if ok else 'fail short-read', flush=True)
    except Exception as e:
        print('fail', type(e).__name__, flush=True)
    time.sleep(0.02)
`;

const lab = new Lab();
const nodeNs = {} as Record<NodeName, string>;
const podNs = {} as Record<PodKey, string>;
const desired = {} as Record<NodeName, DataplaneDesired>;
const dp = {} as Record<NodeName, Dataplane>;

async function sh(ns: string, argv: string[], allowFailure = false): Promise<string> {
  const r = await run({ argv, netns: ns, allowFailure });
  return r.stdout;
}

async function connects(from: PodKey, to: PodKey): Promise<boolean> {
  const r = await run({
    argv: ['nc', '-z', '-w', '1', pod(to).ip, String(PORT)],
    netns: podNs[from],
    allowFailure: true,
  });
  return r.code === 0;
}

function newDataplane(node: NodeName): Dataplane {
  return new Dataplane({
    netns: nodeNs[node],
    resyncIntervalMs: RESYNC_MS,
    retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200 },
    retryIntervalMs: 300,
  });
}

function policyPods(): PolicyPod[] {
  return PODS.map((p) => ({
    namespace: 'prod',
    name: p.name,
    nodeName: p.node,
    labels: { app: p.app },
    ipv4: [p.ip],
  }));
}

function desiredFor(node: NodeName): DataplaneDesired {
  const me = NODES[node];
  const peer = NODES[me.peer];
  const policy = renderPolicy({
    nodeName: node,
    namespaces: [{ name: 'prod', labels: {} }],
    pods: policyPods(),
    policies: [DB_FROM_WEB],
  });
  const nat4 = renderNatOutgoing([{ name: 'default', cidr: '10.244.0.0/16', natOutgoing: true }], 'inet');
  const nat6 = renderNatOutgoing([{ name: 'default', cidr: '10.244.0.0/16', natOutgoing: true }], 'inet6');
  return {
    routes: [
      { dst: me.podCidr, type: 'blackhole', reason: `own pod CIDR of ${node}` },
      podGatewayAnchorRoute('eth0'),
      remoteNodeRoute({ podCidr: peer.podCidr, nodeIp: peer.ip, encapsulation: 'vxlan' }),
    ],
    endpoints: PODS.filter((p) => p.node === node).map((p) =>
      workloadEndpoint({ namespace: 'prod', name: p.name, ipv4: [p.ip] }),
    ),
    iptables: [
      { source: 'policy', ...policy.iptables },
      { source: 'natOutgoing', inet: [nat4.nat], inet6: [nat6.nat] },
    ],
    ipsets: [...policy.ipsets, ...nat4.ipsets, ...nat6.ipsets],
    vxlan: {
      nodeName: node,
      underlayAddress: me.ip,
      underlayDevice: 'eth0',
      tunnelAddress: vtepTunnelAddress(me.podCidr),
      remoteVteps: [{ nodeName: me.peer, nodeIp: peer.ip, tunnelAddress: vtepTunnelAddress(peer.podCidr) }],
    },
  };
}

/** `iptables-save -c` as rule text → packet count (both families). */
async function ruleCounters(ns: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const save of ['iptables-nft-save', 'ip6tables-nft-save']) {
    let table = '';
    for (const line of (await sh(ns, [save, '-c'])).split('\n')) {
      if (line.startsWith('*')) table = line;
      const m = /^\[(\d+):\d+\] (-A .*)$/.exec(line);
      if (m) out.set(`${save} ${table} ${m[2]}`, Number(m[1]));
    }
  }
  return out;
}

function chainOf(saved: string, chain: string): string[] {
  return saved.split('\n').filter((l) => l.startsWith(`-A ${chain} `) || l.includes(`] -A ${chain} `));
}

const skip = !isRoot;

beforeAll(async () => {
  if (skip) return;
  // The pods' servers and probes, and the connect checks.
  requirePrograms('/usr/bin/python3', 'nc');
  const seg = await lab.addSegment('u');
  for (const [name, n] of Object.entries(NODES) as [NodeName, (typeof NODES)[NodeName]][]) {
    const ns = await lab.addNamespace(name);
    nodeNs[name] = ns;
    await seg.attach({ ns, ifname: 'eth0', ipv4: `${n.ip}/24` });
    await enableForwarding(new Netlink({ netns: ns }));
  }
  for (const p of PODS) {
    const ns = await lab.addNamespace(p.key);
    podNs[p.key] = ns;
    await wirePod({
      hostNs: nodeNs[p.node],
      podNs: ns,
      ifaceName: workloadIfaceName('prod', p.name),
      ipv4: p.ip,
      netlink: (n) => new Netlink(n === undefined ? {} : { netns: n }),
    });
    lab.spawn(ns, ['/usr/bin/python3', '-c', SERVER_PY, String(PORT)], { name: `server-${p.key}` });
  }
  for (const node of ['node-1', 'node-2'] as const) {
    desired[node] = desiredFor(node);
    dp[node] = newDataplane(node);
    dp[node].setDesired(desired[node]);
  }
  for (const node of ['node-1', 'node-2'] as const) {
    const s = await dp[node].idle();
    if (!s.inSync) throw new Error(`${node} did not apply: ${JSON.stringify(s.lastError)}`);
  }
  await waitFor(() => connects('web1', 'db2'), { describe: 'web-1 → db-2 over VXLAN', timeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  for (const d of Object.values(dp)) await d.stop();
  await lab.teardown();
});

describe.skipIf(skip)('Dataplane in namespaces: two nodes × three pods', () => {
  it('programs routes, policy, NAT outgoing and VXLAN; status and listings explain it', async () => {
    expect(await connects('web1', 'db2')).toBe(true);
    expect(await connects('web2', 'db1')).toBe(true);
    expect(await connects('tool1', 'db2')).toBe(false); // not selected by the policy's peer
    expect(await connects('tool1', 'web2')).toBe(true); // web is not isolated
    const s = dp['node-2'].status();
    expect(s).toMatchObject({ ready: true, inSync: true, consecutiveFailures: 0, backend: 'nft' });
    expect(s.counts.routes).toBe(6); // 3 pods, blackhole, anchor, node-1's CIDR
    expect(s.counts.routesProgrammed).toBe(6);
    expect(s.counts.endpointsWired).toBe(3);
    expect(s.counts.remoteVteps).toBe(1);
    const routes = dp['node-2'].listRoutes();
    expect(routes.find((r) => r.dst === '10.244.2.11/32')).toMatchObject({
      reason: 'local workload prod/db-2',
      state: 'programmed',
    });
    expect(routes.find((r) => r.dst === '10.244.1.0/24')?.nextHops[0]).toMatchObject({ dev: 'vxlan.margay' });
    const { rules, ipsets } = dp['node-2'].describeRules();
    expect(rules.some((r) => r.table === 'nat' && r.chain === 'mgy-nat-outgoing')).toBe(true);
    expect(rules.some((r) => r.origin?.includes('prod/db-from-web'))).toBe(true);
    expect(ipsets.some((i) => i.origin === 'IPPools with natOutgoing')).toBe(true);
  });

  it('(a) repairs every kind of drift within one resync interval, leaving foreign state and untouched counters', async () => {
    const ns = nodeNs['node-2'];
    const d = dp['node-2'];
    // Traffic through db-2's to-workload chain, so its counters are non-zero, then frozen.
    expect(await connects('web1', 'db2')).toBe(true);
    const tw = d
      .describeRules()
      .rules.find(
        (r) => r.family === 'inet' && r.origin?.includes('prod/db-2') && r.chain.startsWith('mgy-tw-'),
      );
    expect(tw, 'to-workload chain of db-2').toBeDefined();
    const policyChain = d
      .describeRules()
      .rules.find((r) => r.family === 'inet' && r.chain.startsWith('mgy-pi-'))!.chain;
    const before = await sh(ns, ['iptables-nft-save', '-c']);
    const twBefore = chainOf(before, tw!.chain);
    expect(twBefore.some((l) => !l.startsWith('[0:0]'))).toBe(true);
    const set = d
      .describeRules()
      .ipsets.find((i) => i.family === 'inet' && i.members > 0 && i.name.startsWith('mgy-'))!.name;
    const veth = workloadIfaceName('prod', 'tool-2');
    // Foreign state that must survive.
    await sh(ns, ['ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.254', 'proto', 'static']);

    // The drift, all at once.
    await sh(ns, ['iptables-nft', '-F', policyChain]);
    await sh(ns, ['iptables-nft', '-D', 'FORWARD', '1']);
    await sh(ns, ['iptables-nft', '-I', 'INPUT', '1', '-s', '198.51.100.7', '-j', 'ACCEPT']);
    await sh(ns, ['ip', 'route', 'del', `${pod('tool2').ip}/32`]);
    await sh(ns, ['ipset', 'add', set, '10.244.9.9']);
    await sh(ns, [
      'bridge',
      'fdb',
      'del',
      vtepMac('node-1'),
      'dev',
      'vxlan.margay',
      'dst',
      '192.0.2.1',
      'self',
    ]);
    await sh(ns, ['sysctl', '-q', '-w', `net/ipv4/conf/${veth}/proxy_arp=0`]);
    const resyncsBefore = d.status().resyncs;
    const t0 = Date.now();

    const repaired = async () => {
      const saved = await sh(ns, ['iptables-nft-save']);
      const forward = chainOf(saved, 'FORWARD');
      const input = chainOf(saved, 'INPUT');
      const routes = await sh(ns, ['ip', 'route', 'show', 'proto', '109']);
      const members = await sh(ns, ['ipset', 'list', set]);
      const fdb = await sh(ns, ['bridge', 'fdb', 'show', 'dev', 'vxlan.margay']);
      const arp = (await sh(ns, ['sysctl', '-n', `net/ipv4/conf/${veth}/proxy_arp`])).trim();
      return {
        chain: chainOf(saved, policyChain).length > 0,
        forwardJumpFirst: forward[0]?.includes('mgy-FORWARD') ?? false,
        inputJumpFirst:
          (input[0]?.includes('mgy-INPUT') ?? false) && input[1]?.includes('198.51.100.7') === true,
        route: routes.includes(`${pod('tool2').ip} dev ${veth}`),
        ipset: !members.includes('10.244.9.9'),
        fdb: fdb.includes(`${vtepMac('node-1')} dst 192.0.2.1`),
        proxyArp: arp === '1',
      };
    };
    const all = await waitFor(repaired, {
      describe: 'every drift repaired',
      timeoutMs: RESYNC_MS + 4_000,
      intervalMs: 100,
      until: (r) => Object.values(r).every(Boolean),
    });
    const elapsed = Date.now() - t0;
    expect(all).toMatchObject({ chain: true, forwardJumpFirst: true, inputJumpFirst: true });
    // One resync did it: the first one after the drift (the pass itself takes a few hundred ms).
    await d.idle();
    expect(d.status().resyncs - resyncsBefore).toBeLessThanOrEqual(2);
    expect(elapsed).toBeLessThan(RESYNC_MS + 2_500);
    const s = d.status();
    expect(s.repairs.routes).toBeGreaterThanOrEqual(1);
    expect(s.repairs.iptablesJumpsRepaired).toBeGreaterThanOrEqual(2);
    expect(s.repairs.links.fdbWritten).toBeGreaterThanOrEqual(1);
    expect(s.repairs.links.vethSettingsWritten).toBeGreaterThanOrEqual(1);

    // Foreign route and rule untouched; the untouched chain kept its counters (not rewritten).
    expect(await sh(ns, ['ip', 'route', 'show', '198.51.100.0/24'])).toContain('proto static');
    const after = await sh(ns, ['iptables-nft-save', '-c']);
    expect(chainOf(after, tw!.chain)).toEqual(twBefore);
    expect(await connects('web1', 'db2')).toBe(true);
    expect(await connects('tool1', 'db2')).toBe(false);
    await sh(ns, ['iptables-nft', '-D', 'INPUT', '-s', '198.51.100.7', '-j', 'ACCEPT']);
  });

  it('(b) a second instance adopts node-2 without a flap while traffic keeps flowing', async () => {
    const ns = nodeNs['node-2'];
    const monitor: ProcessHandle = lab.spawn(ns, ['ip', 'monitor', 'route'], { name: 'monitor-node-2' });
    const probe: ProcessHandle = lab.spawn(
      podNs.web1,
      ['/usr/bin/python3', '-c', PROBE_PY, pod('db2').ip, String(PORT)],
      {
        name: 'probe-web1-db2',
      },
    );
    const lines = () => readFileSync(probe.logFile, 'utf8').split('\n').filter(Boolean);
    await waitFor(() => lines().filter((l) => l === 'ok').length >= 10, {
      describe: 'probe running',
      timeoutMs: 10_000,
    });
    const countersBefore = await ruleCounters(ns);
    const ipsetBefore = await sh(ns, ['ipset', 'save']);
    const okBefore = lines().length;

    await dp['node-2'].stop();
    const next = newDataplane('node-2');
    next.setDesired(desiredFor('node-2'));
    const s = await next.idle();
    dp['node-2'] = next;
    expect(s.inSync).toBe(true);
    expect(s.applies).toBeGreaterThanOrEqual(1);
    expect(s.io).toMatchObject({
      routeLinesWritten: 0,
      iptablesBytesWritten: 0,
      ipsetBytesWritten: 0,
      linkSettingsWritten: 0,
    });
    // A resync of the new instance too, then more probes.
    await waitFor(() => next.status().resyncs >= 1, {
      describe: 'a resync by the new instance',
      timeoutMs: RESYNC_MS + 3_000,
    });
    await next.idle();
    await waitFor(() => lines().length >= okBefore + 20, {
      describe: 'probes after the restart',
      timeoutMs: 10_000,
    });
    await probe.stop(1_000);
    // The monitor does see route events: a foreign route added now shows up (and is the only one).
    await sh(ns, ['ip', 'route', 'add', '198.51.100.77', 'via', '192.0.2.254', 'proto', 'static']);
    await waitFor(() => readFileSync(monitor.logFile, 'utf8').includes('198.51.100.77'), {
      describe: 'ip monitor route saw the foreign route',
      timeoutMs: 5_000,
    });
    await monitor.stop(1_000);
    await sh(ns, ['ip', 'route', 'del', '198.51.100.77', 'proto', 'static']);

    const results = lines();
    expect(
      results.filter((l) => l !== 'ok'),
      'probe failures',
    ).toEqual([]);
    expect(results.length).toBeGreaterThan(30);
    const events = readFileSync(monitor.logFile, 'utf8').split('\n').filter(Boolean);
    expect(events, 'route events during the restart').toEqual([
      '198.51.100.77 via 192.0.2.254 dev eth0 proto static ',
    ]);
    expect(await sh(ns, ['ipset', 'save'])).toBe(ipsetBefore);
    const countersAfter = await ruleCounters(ns);
    expect([...countersAfter.keys()].sort()).toEqual([...countersBefore.keys()].sort());
    const grew = [...countersBefore].filter(([rule, n]) => (countersAfter.get(rule) ?? 0) > n);
    expect(grew.length, 'rules that counted the probe traffic').toBeGreaterThan(0);
    const wentBack = [...countersBefore].filter(([rule, n]) => (countersAfter.get(rule) ?? 0) < n);
    expect(wentBack, 'rules whose counters were reset').toEqual([]);
    expect(next.status().io.iptablesBytesWritten + next.status().io.routeLinesWritten).toBe(0);
  });

  it('(d) a batch the kernel rejects is retried with backoff, reported, and the old ruleset stays', async () => {
    const ns = nodeNs['node-2'];
    const d = dp['node-2'];
    const good = desiredFor('node-2');
    const savedBefore = (await sh(ns, ['iptables-nft-save']))
      .split('\n')
      .filter((l) => l.startsWith('-A') || l.startsWith(':mgy'));
    const bad: DataplaneDesired = {
      ...good,
      iptables: [
        ...(good.iptables as readonly IptablesSource[]),
        {
          source: 'broken',
          inet: [
            {
              table: 'filter',
              chains: [
                {
                  name: 'mgy-broken',
                  rules: [{ match: ['-p', 'tcp', '--dport', '99999'], action: { type: 'accept' } }],
                },
              ],
              jumps: [],
            },
          ],
          inet6: [],
        },
      ],
    };
    const attemptsBefore = d.status().attempts;
    d.setDesired(bad); // passes validation: only the kernel knows 99999 is no port
    const failed = await d.idle();
    expect(failed.inSync).toBe(false);
    expect(failed.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(failed.lastError).toMatchObject({ step: 'iptables', code: 'FELIX_ERR_RESTORE_FAILED' });
    expect(failed.lastError?.message).toContain('iptables-nft-restore');
    expect(failed.attempts - attemptsBefore).toBeGreaterThanOrEqual(3);
    // The retry timer tries again on its own.
    await waitFor(() => d.status().attempts - attemptsBefore >= 6, {
      describe: 'retried after retryIntervalMs',
      timeoutMs: 5_000,
    });
    const savedDuring = (await sh(ns, ['iptables-nft-save']))
      .split('\n')
      .filter((l) => l.startsWith('-A') || l.startsWith(':mgy'));
    expect(savedDuring).toEqual(savedBefore);
    expect(await connects('web1', 'db2')).toBe(true);
    expect(await connects('tool1', 'db2')).toBe(false);

    d.setDesired(good);
    const recovered = await d.idle();
    expect(recovered).toMatchObject({ inSync: true, consecutiveFailures: 0 });
    expect(recovered.totalFailures).toBeGreaterThanOrEqual(6);
  });

  it('(c) cleanup removes all of ours and nothing else', async () => {
    const ns = nodeNs['node-1'];
    // Foreign state of every kind.
    await sh(ns, ['ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.254', 'proto', 'static']);
    await sh(ns, ['iptables-nft', '-N', 'FOREIGN']);
    await sh(ns, ['iptables-nft', '-A', 'FOREIGN', '-s', '198.51.100.9', '-j', 'DROP']);
    await sh(ns, ['iptables-nft', '-A', 'FORWARD', '-s', '198.51.100.8', '-j', 'FOREIGN']);
    await sh(ns, ['ip6tables-nft', '-A', 'INPUT', '-s', '2001:db8::8', '-j', 'ACCEPT']);
    await sh(ns, ['ipset', 'create', 'foreign-set', 'hash:ip']);
    await sh(ns, [
      'ip',
      'link',
      'add',
      'vxlan.other',
      'type',
      'vxlan',
      'id',
      '77',
      'dstport',
      '4790',
      'local',
      '192.0.2.1',
      'nolearning',
    ]);

    const report = await dp['node-1'].cleanup();
    expect(report.routesDeleted).toBe(6);
    expect(report.linksDeleted).toEqual(['vxlan.margay']);
    expect(report.ipsetsDestroyed.length).toBeGreaterThan(0);

    expect(await sh(ns, ['ip', '-4', 'route', 'show', 'table', 'all', 'proto', '109'])).toBe('');
    expect(await sh(ns, ['ip', '-6', 'route', 'show', 'table', 'all', 'proto', '109'])).toBe('');
    for (const save of ['iptables-nft-save', 'ip6tables-nft-save']) {
      const saved = await sh(ns, [save]);
      expect(saved).not.toMatch(/mgy/);
    }
    const v4 = await sh(ns, ['iptables-nft-save']);
    expect(v4).toContain('-A FOREIGN -s 198.51.100.9/32 -j DROP');
    expect(v4).toContain('-A FORWARD -s 198.51.100.8/32 -j FOREIGN');
    expect(await sh(ns, ['ip6tables-nft-save'])).toContain('-A INPUT -s 2001:db8::8/128 -j ACCEPT');
    expect((await sh(ns, ['ipset', 'list', '-n'])).split('\n').filter(Boolean)).toEqual(['foreign-set']);
    expect(await sh(ns, ['ip', 'route', 'show', '198.51.100.0/24'])).toContain('proto static');
    const links = await sh(ns, ['ip', '-o', 'link', 'show']);
    expect(links).toContain('vxlan.other');
    expect(links).not.toContain('vxlan.margay');
    expect(dp['node-1'].status().stopped).toBe(true);
  });
});
