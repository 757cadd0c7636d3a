// The steps that build (and extend) a `margay lab`: underlay segments, the router/ToR namespace,
// node namespaces, pod namespaces wired as the CNI plugin will wire them, echo listeners, the ToR
// daemon and the agents. Every step records what it created in the LabState (state.ts) so a later
// process — or `lab down` after a crash — finds it. Used by `lab up` (up.ts) and `lab apply`.
//
// Network safety: a lab never touches the machine's real interfaces. Links are only ever created
// inside lab namespaces; the only routes added are the other underlay subnet via the lab router and
// the pod-gateway anchor 169.254.1.1/32 (proxy ARP needs a route to it): no default route anywhere.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  canonicalCidr,
  Netlink,
  podGatewayAnchorRoute,
  wirePod,
  workloadIfaceName,
} from '../../felix/index.ts';
import { birdc, startBird } from './bird.ts';
import { agentConfigYaml, type ClusterRouter, torConfig } from './cluster.ts';
import { startFrr } from './frr.ts';
import { startGobgp } from './gobgp.ts';
import type { Lab } from './lab.ts';
import { attachToSegment, execHost } from './netns.ts';
import {
  type LabState,
  type NodeRecord,
  type PodRecord,
  processRecord,
  type RouterRecord,
  stopRecorded,
} from './state.ts';
import type { LabPort, PlannedNode, PlannedPod, PlannedRouter } from './topology.ts';
import { bare, routerAddresses } from './topology.ts';
import { waitFor } from './wait.ts';

const EXT = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
/** `margay` itself (the agent is `margay agent`). */
export const MARGAY_MAIN = fileURLToPath(new URL(`../main.${EXT}`, import.meta.url));
export const MARGAYCTL_MAIN = fileURLToPath(new URL(`../ctl/main.${EXT}`, import.meta.url));
export const ECHO_MAIN = fileURLToPath(new URL(`./echo-main.${EXT}`, import.meta.url));

const netlink = (netns: string | undefined): Netlink => new Netlink({ netns });

export async function addSegments(lab: Lab, state: LabState): Promise<void> {
  const subnets: (1 | 2)[] = state.subnets === 2 ? [1, 2] : [1];
  for (const subnet of subnets) {
    const seg = await lab.addSegment(`s${subnet}`);
    state.segments.push({ subnet, ns: seg.switchNs });
    state.namespaces.push(seg.switchNs);
  }
}

function segmentNs(state: LabState, subnet: 1 | 2): string {
  const seg = state.segments.find((s) => s.subnet === subnet);
  if (seg === undefined) throw new Error(`lab ${state.prefix} has no underlay subnet ${subnet}`);
  return seg.ns;
}

/** The router namespace: one leg on each subnet, forwarding between them (and the ToR's home). */
export async function addRouter(
  lab: Lab,
  state: LabState,
  r: PlannedRouter,
  tor: { kind: RouterRecord['tor']; asNumber: number },
): Promise<RouterRecord> {
  const ns = await lab.addNamespace(r.nsShort);
  state.namespaces.push(ns);
  for (const i of r.interfaces) {
    await attachToSegment(segmentNs(state, i.subnet), 'br0', `r${i.subnet}`, {
      ns,
      ifname: i.ifname,
      ipv4: i.ipv4,
      ...(i.ipv6 !== undefined ? { ipv6: i.ipv6 } : {}),
    });
  }
  const record: RouterRecord = {
    ns,
    interfaces: r.interfaces,
    tor: tor.kind,
    torAsNumber: tor.asNumber,
    torProcesses: [],
  };
  state.router = record;
  return record;
}

/** A node namespace on its subnet, with underlay routes and the agent's config (not started). */
export async function addNode(lab: Lab, state: LabState, n: PlannedNode): Promise<NodeRecord> {
  const ns = await lab.addNamespace(n.nsShort);
  state.namespaces.push(ns);
  await attachToSegment(segmentNs(state, n.subnet), 'br0', `n${n.index}`, {
    ns,
    ifname: 'eth0',
    ipv4: n.ipv4,
    ...(n.ipv6 !== undefined ? { ipv6: n.ipv6 } : {}),
  });
  if (state.subnets === 2) {
    // The other subnet through the lab router (never a default route).
    const other: 1 | 2 = n.subnet === 1 ? 2 : 1;
    const via = routerAddresses(n.subnet);
    const dst = routerAddresses(other);
    await execHost(['ip', '-n', ns, 'route', 'add', networkOf(dst.ipv4), 'via', bare(via.ipv4)]);
    if (n.ipv6 !== undefined)
      await execHost(['ip', '-n', ns, '-6', 'route', 'add', networkOf(dst.ipv6), 'via', bare(via.ipv6)]);
  }
  const anchor = podGatewayAnchorRoute('eth0');
  await execHost(['ip', '-n', ns, 'route', 'replace', anchor.dst, 'dev', anchor.dev as string]);
  const configPath = join(state.dir, `agent-${n.name}.yaml`);
  writeFileSync(
    configPath,
    agentConfigYaml({ nodeName: n.name, datastorePath: state.datastorePath, ipv6: n.ipv6 !== undefined }),
  );
  const record: NodeRecord = {
    name: n.name,
    index: n.index,
    subnet: n.subnet,
    ns,
    labels: n.labels,
    ipv4: n.ipv4,
    ...(n.ipv6 !== undefined ? { ipv6: n.ipv6 } : {}),
    podCIDRv4: n.podCIDRv4,
    ...(n.podCIDRv6 !== undefined ? { podCIDRv6: n.podCIDRv6 } : {}),
    isRouteReflector: n.isRouteReflector,
    configPath,
  };
  state.nodes.push(record);
  return record;
}

/** "192.0.2.1/24" → "192.0.2.0/24"; "2001:db8:0:2::1/64" → "2001:db8:0:2::/64" (lab plan only). */
function networkOf(cidr: string): string {
  const network = canonicalCidr(cidr);
  if (network === undefined) throw new Error(`lab plan: ${cidr} is not an address/length`);
  return network;
}

/** Start `margay agent --config …` in the node's namespace. */
export function startAgent(lab: Lab, node: NodeRecord): void {
  const proc = lab.spawn(node.ns, [process.execPath, MARGAY_MAIN, 'agent', '--config', node.configPath], {
    name: `agent-${node.name}`,
  });
  node.agent = processRecord(proc);
}

/** A pod namespace wired to its node exactly as the CNI plugin will wire it, plus its listener. */
export async function addPod(lab: Lab, state: LabState, p: PlannedPod): Promise<PodRecord> {
  const node = state.nodes.find((n) => n.name === p.node);
  if (node === undefined) throw new Error(`pod ${p.namespace}/${p.name}: node ${p.node} is not in the lab`);
  const ns = await lab.addNamespace(p.nsShort);
  state.namespaces.push(ns);
  const hostIface = workloadIfaceName(p.namespace, p.name);
  await wirePod({
    hostNs: node.ns,
    podNs: ns,
    ifaceName: hostIface,
    ipv4: p.ipv4,
    ...(p.ipv6 !== undefined ? { ipv6: p.ipv6 } : {}),
    netlink,
  });
  const record: PodRecord = {
    namespace: p.namespace,
    name: p.name,
    node: p.node,
    ns,
    hostIface,
    labels: p.labels,
    ports: p.ports,
    ipv4: p.ipv4,
    ...(p.ipv6 !== undefined ? { ipv6: p.ipv6 } : {}),
  };
  state.pods.push(record);
  return record;
}

/** Distinct port numbers; each gets a TCP and a UDP echo listener. */
export function listenerPorts(ports: readonly LabPort[]): number[] {
  return [...new Set(ports.filter((p) => p.protocol !== 'SCTP').map((p) => p.port))].sort((a, b) => a - b);
}

/** Start the pod's echo listener (no-op without ports); resolves once it listens. */
export async function startListener(lab: Lab, pod: PodRecord): Promise<void> {
  const ports = listenerPorts(pod.ports);
  if (ports.length === 0) return;
  const id = `${pod.namespace}/${pod.name}`;
  const proc = lab.spawn(pod.ns, [process.execPath, ECHO_MAIN, 'serve', id, ...ports.map(String)], {
    name: `echo-${pod.namespace}.${pod.name}`,
  });
  pod.listener = processRecord(proc);
  await waitFor(
    () => {
      const status = proc.exitStatus();
      if (status) throw new Error(`echo listener exited (${JSON.stringify(status)}); log ${proc.logFile}`);
      return readFileSync(proc.logFile, 'utf8').includes(`ready ${id}`);
    },
    { describe: `echo listener of ${id} (log ${proc.logFile})`, timeoutMs: 10_000, intervalMs: 50 },
  );
}

export async function stopPod(pod: PodRecord): Promise<void> {
  if (pod.listener) await stopRecorded(pod.listener);
}

// ---------------------------------------------------------------------------------------------
// ToR

export interface TorNode {
  readonly index: number;
  readonly subnet: 1 | 2;
  readonly ipv4: string;
  readonly ipv6?: string;
}

export async function startTor(
  lab: Lab,
  state: LabState,
  router: RouterRecord,
  nodes: readonly TorNode[],
): Promise<void> {
  if (router.tor === 'none') return;
  const config = torConfig({
    kind: router.tor,
    asNumber: router.torAsNumber,
    nodeAsNumber: state.asNumber,
    router: router as ClusterRouter,
    nodes,
  });
  if (router.tor === 'bird') {
    const bird = await startBird(lab, router.ns, config);
    router.torSocket = bird.socket;
    router.torDir = bird.dir;
    router.torConfigPath = bird.configPath;
    router.torProcesses.push(processRecord(bird.process));
  } else if (router.tor === 'frr') {
    const frr = await startFrr(lab, router.ns, config);
    router.torDir = frr.dir;
    router.torConfigPath = join(frr.dir, 'bgpd.conf');
    router.torProcesses.push(processRecord(frr.bgpd), processRecord(frr.zebra));
  } else {
    const g = await startGobgp(lab, router.ns, config);
    router.torDir = g.dir;
    router.torApiPort = g.apiPort;
    router.torConfigPath = join(g.dir, 'gobgpd.toml');
    router.torProcesses.push(processRecord(g.process));
  }
}

/** Make the running ToR peer with exactly `nodes` (after `lab apply|delete` of a Node). */
export async function reconfigureTor(
  state: LabState,
  router: RouterRecord,
  added: readonly TorNode[],
  removed: readonly TorNode[],
): Promise<void> {
  if (router.tor === 'none' || (added.length === 0 && removed.length === 0)) return;
  if (router.tor === 'bird') {
    const config = torConfig({
      kind: 'bird',
      asNumber: router.torAsNumber,
      nodeAsNumber: state.asNumber,
      router: router as ClusterRouter,
      nodes: state.nodes,
    });
    writeFileSync(router.torConfigPath as string, config);
    const out = await birdc(router.torSocket as string, 'configure');
    if (!/Reconfigur|Reconfiguration in progress|Configuration OK/i.test(out))
      throw new Error(`birdc configure: ${out.trim()}`);
    return;
  }
  const addrs = (n: TorNode) => [
    { address: bare(n.ipv4), family: 'ipv4' as const },
    ...(n.ipv6 !== undefined ? [{ address: bare(n.ipv6), family: 'ipv6' as const }] : []),
  ];
  if (router.tor === 'frr') {
    const vtysh = (cmds: string[]) =>
      execHost([
        'ip',
        'netns',
        'exec',
        router.ns,
        'vtysh',
        '--vty_socket',
        router.torDir as string,
        ...['configure terminal', `router bgp ${router.torAsNumber}`, ...cmds].flatMap((c) => ['-c', c]),
      ]);
    for (const n of added)
      for (const a of addrs(n))
        await vtysh([
          `neighbor ${a.address} remote-as ${state.asNumber}`,
          `neighbor ${a.address} timers connect 1`,
          `address-family ${a.family} unicast`,
          `neighbor ${a.address} activate`,
        ]);
    for (const n of removed) for (const a of addrs(n)) await vtysh([`no neighbor ${a.address}`]);
    return;
  }
  const gobgp = (args: string[]) =>
    execHost([
      'ip',
      'netns',
      'exec',
      router.ns,
      'gobgp',
      '-u',
      '127.0.0.1',
      '-p',
      String(router.torApiPort),
      ...args,
    ]);
  for (const n of added)
    for (const a of addrs(n))
      await gobgp([
        'neighbor',
        'add',
        a.address,
        'as',
        String(state.asNumber),
        'family',
        `${a.family}-unicast`,
      ]);
  for (const n of removed) for (const a of addrs(n)) await gobgp(['neighbor', 'del', a.address]);
}
