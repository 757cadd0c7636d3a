// `npm run bench -- bfd-failover`: how fast BFD takes a dead ToR link out of service.
//
// Two modes, each with BIRD 2 as the ToR (`bfd on` with `protocol bfd`) in a namespace this run
// creates, one eBGP session per ToR (hold time 9 s) and BFD on it at the given interval × 3 on
// both sides. The ToR announces 10.50.0.0/24, the node 10.244.1.0/24 (its pod CIDR).
//   speaker: the standalone speaker (test/interop/speaker-child.ts, PeerConfig.bfd) and one ToR;
//            node time: the ToR's route has left the speaker's RIB.
//   agent:   the real `margay agent` process (file datastore: its Node, a BGPPeer with `bfd` per
//            ToR, an IPPool) in the node namespace, wired to two ToRs on two links that both
//            announce 10.50.0.0/24, so the node's kernel routes it over both (ECMP); node time:
//            the kernel's route to 10.50.0.0/24 (`ip -j route`) no longer has a next hop via the
//            cut ToR.
// A cut drops every packet from the node in the (first) ToR's namespace (iptables INPUT), as a
// failed link or a dead node looks to the ToR. Measured from the moment the rule is in place,
// polling every POLL_MS: the node time above, and the ToR time: BIRD has withdrawn the node's pod
// CIDR. Then the rule is lifted and both sessions and routes come back. The next cut follows once
// the node's BFD sessions have been Up for the damping's stable time (bgp/bfd/damping.ts) and a
// random 0.2–0.7 s more, so every cut meets a session with no flap penalty: a cut is one failure,
// not a flap. `--cuts N` (default 20) per interval, `--intervals 300,100`, `--modes speaker,agent`.
//
// Output: one JSON line per mode and interval on stdout, a table on stderr. The namespaces and
// processes are removed at the end, on failure too.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DAMPING } from '../../bgp/bfd/damping.ts';
import type { PathView, PeerStatus } from '../../bgp/speaker/types.ts';
import { type BirdHandle, birdConfig, birdRoutes, startBird } from '../../src/lab/bird.ts';
import { MARGAY_MAIN } from '../../src/lab/build.ts';
import { AGENT_API, agentConfigYaml, renderDatastore } from '../../src/lab/cluster.ts';
import { Lab } from '../../src/lab/lab.ts';
import { SpeakerProcess } from '../interop/speaker-process.ts';
import { sleep, waitFor } from './lib/poll.ts';
import { Teardown } from './lib/teardown.ts';

const NODE_AS = 64512;
const TOR_AS = 64513;
const POLL_MS = 10;
const TOR_ROUTE = '10.50.0.0/24';
const POD_CIDR = '10.244.1.0/24';

type Mode = 'speaker' | 'agent';
const MODES: readonly Mode[] = ['speaker', 'agent'];

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}

interface Summary {
  readonly mode: Mode;
  readonly intervalMs: number;
  readonly cuts: number;
  readonly nodeMs: { p50: number; p99: number; max: number };
  readonly torMs: { p50: number; p99: number; max: number };
  readonly loadavg: number;
}

function summarize(values: number[]): { p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v);
  return { p50: r(quantile(s, 0.5)), p99: r(quantile(s, 0.99)), max: r(s[s.length - 1] ?? Number.NaN) };
}

/** BIRD as a ToR: one eBGP neighbour with BFD at `intervalMs` × 3, announcing TOR_ROUTE. */
function torConfig(routerId: string, node: string, intervalMs: number): string {
  return birdConfig({
    routerId,
    localAs: TOR_AS,
    neighbors: [{ name: 'node', address: node, remoteAs: NODE_AS, holdTime: 9, extra: ['bfd on;'] }],
    staticRoutes: [{ prefix: TOR_ROUTE }],
    extra: [
      'protocol bfd {',
      `  interface "*" { min rx interval ${intervalMs} ms; min tx interval ${intervalMs} ms; multiplier 3; };`,
      '}',
    ].join('\n'),
  });
}

/** What a mode gives the cut loop: how the node and the ToR look, and where to cut. */
interface Rig {
  /** The cut ToR's namespace and the node address whose packets it drops. */
  readonly tor: string;
  readonly nodeAddress: string;
  readonly bird: BirdHandle;
  /** Everything is up: BFD Up on every session of the node, routes in place on both sides. */
  readonly up: () => Promise<boolean>;
  /** The node still routes via the cut ToR. */
  readonly nodeUsesTor: () => Promise<boolean>;
}

async function speakerRig(
  lab: Lab,
  intervalMs: number,
  onClose: (close: () => Promise<void>) => void,
): Promise<Rig> {
  const node = await lab.addNamespace('node');
  const tor = await lab.addNamespace('tor');
  await lab.connect(
    { ns: node, ifname: 'to-tor', ipv4: '192.0.2.1/24' },
    { ns: tor, ifname: 'to-node', ipv4: '192.0.2.2/24' },
  );
  const bird = await startBird(lab, tor, torConfig('192.0.2.2', '192.0.2.1', intervalMs));
  const speaker = new SpeakerProcess(node, join(lab.dir, 'speaker.log'), {
    options: { asn: NODE_AS, routerId: '192.0.2.1' },
    peers: [
      {
        address: '192.0.2.2',
        asn: TOR_AS,
        holdTime: 9,
        connectRetryTime: 1,
        bfd: { minRxMs: intervalMs, minTxMs: intervalMs, multiplier: 3 },
      },
    ],
    routes: [{ prefix: POD_CIDR }],
  });
  onClose(async () => {
    speaker.kill();
    await speaker.exited;
  });
  await speaker.started;
  const nodeUsesTor = async () =>
    (await speaker.request<PathView[]>('routes')).some((r) => r.prefix === TOR_ROUTE);
  return {
    tor,
    nodeAddress: '192.0.2.1',
    bird,
    nodeUsesTor,
    up: async () => {
      const [peer] = await speaker.request<PeerStatus[]>('peers');
      return peer?.bfd?.state === 'Up' && (await nodeUsesTor()) && (await torHasPodCidr(bird));
    },
  };
}

async function torHasPodCidr(bird: BirdHandle): Promise<boolean> {
  return (await birdRoutes(bird)).some((r) => r.prefix === POD_CIDR);
}

/** The gateways of the node's kernel route to TOR_ROUTE: one, or one per ECMP leg. */
async function kernelGateways(lab: Lab, ns: string): Promise<string[]> {
  const out = (await lab.exec(ns, ['ip', '-j', 'route', 'show', TOR_ROUTE])).stdout;
  const routes = JSON.parse(out || '[]') as { gateway?: string; nexthops?: { gateway?: string }[] }[];
  return routes.flatMap((r) => [
    ...(r.gateway !== undefined ? [r.gateway] : []),
    ...(r.nexthops ?? []).flatMap((h) => (h.gateway !== undefined ? [h.gateway] : [])),
  ]);
}

async function agentRig(lab: Lab, intervalMs: number): Promise<Rig> {
  const node = await lab.addNamespace('node');
  const tors = [
    { ns: await lab.addNamespace('tor1'), tor: '192.0.2.1', node: '192.0.2.11', ifname: 'eth0' },
    { ns: await lab.addNamespace('tor2'), tor: '198.51.100.1', node: '198.51.100.11', ifname: 'eth1' },
  ];
  for (const t of tors)
    await lab.connect(
      { ns: node, ifname: t.ifname, ipv4: `${t.node}/24` },
      { ns: t.ns, ifname: 'to-node', ipv4: `${t.tor}/24` },
    );
  const birds: BirdHandle[] = [];
  for (const t of tors) birds.push(await startBird(lab, t.ns, torConfig(t.tor, t.node, intervalMs)));
  const bfd = { minRxMs: intervalMs, minTxMs: intervalMs, multiplier: 3 };
  const datastorePath = join(lab.dir, 'cluster.yaml');
  writeFileSync(
    datastorePath,
    renderDatastore(
      [
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'node-1', annotations: { 'margay.io/ipv4-address': '192.0.2.11/24' } },
          spec: { podCIDRs: [POD_CIDR] },
        },
        {
          apiVersion: 'margay.io/v1',
          kind: 'BGPConfiguration',
          metadata: { name: 'default' },
          spec: { asNumber: NODE_AS, nodeToNodeMeshEnabled: false },
        },
        ...tors.map((t, i) => ({
          apiVersion: 'margay.io/v1',
          kind: 'BGPPeer',
          metadata: { name: `tor-${i + 1}` },
          // The second link's session leaves from that link's address (not the node IP), so the
          // ToR gets a next hop on its own subnet.
          spec: { peerIP: t.tor, asNumber: TOR_AS, bfd, ...(i > 0 && { sourceAddress: 'None' }) },
        })),
        {
          apiVersion: 'margay.io/v1',
          kind: 'IPPool',
          metadata: { name: 'pods' },
          spec: { cidr: '10.244.0.0/16' },
        },
      ],
      'written by the bfd-failover bench',
    ),
  );
  const configPath = join(lab.dir, 'agent.yaml');
  writeFileSync(configPath, agentConfigYaml({ nodeName: 'node-1', datastorePath, ipv6: false }));
  lab.spawn(node, [process.execPath, MARGAY_MAIN, 'agent', '--config', configPath], { name: 'agent' });
  const cut = tors[0] as (typeof tors)[number];
  const peers = async () => {
    const r = await lab.exec(node, ['curl', '-sf', '--max-time', '2', `http://${AGENT_API}/v1/bgp/peers`]);
    return (JSON.parse(r.stdout) as { peers: PeerStatus[] }).peers;
  };
  return {
    tor: cut.ns,
    nodeAddress: cut.node,
    bird: birds[0] as BirdHandle,
    nodeUsesTor: async () => (await kernelGateways(lab, node)).includes(cut.tor),
    up: async () => {
      const ps = await peers();
      if (ps.length !== tors.length || ps.some((p) => p.bfd?.state !== 'Up')) return false;
      const gateways = await kernelGateways(lab, node);
      if (!tors.every((t) => gateways.includes(t.tor))) return false;
      for (const b of birds) if (!(await torHasPodCidr(b))) return false;
      return true;
    },
  };
}

async function runInterval(mode: Mode, intervalMs: number, cuts: number): Promise<Summary> {
  const lab = new Lab();
  const closers: (() => Promise<void>)[] = [];
  // On SIGINT/SIGTERM as well as at the end: the speakers, then the lab's processes by PID and
  // its namespaces by name.
  const teardown = new Teardown();
  teardown.add('lab', () => lab.teardown());
  teardown.add('speakers', async () => {
    for (const close of closers) await close();
  });
  try {
    const rig =
      mode === 'speaker'
        ? await speakerRig(lab, intervalMs, (c) => closers.push(c))
        : await agentRig(lab, intervalMs);
    const up = () =>
      waitFor('both routes and BFD Up', async () => ((await rig.up()) ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 50,
      });
    const rule = ['INPUT', '-s', rig.nodeAddress, '-j', 'DROP'];
    const nodeMs: number[] = [];
    const torMs: number[] = [];
    for (let i = 0; i < cuts; i++) {
      await up();
      await sleep(DAMPING.stableMs + 200 + Math.random() * 500);
      await up();
      await lab.exec(rig.tor, ['iptables-nft', '-I', ...rule]);
      const t0 = performance.now();
      try {
        const gone = (probe: () => Promise<boolean>) =>
          waitFor('route gone', async () => ((await probe()) ? undefined : performance.now() - t0), {
            timeoutMs: 15_000,
            intervalMs: POLL_MS,
          });
        const [n, t] = await Promise.all([gone(rig.nodeUsesTor), gone(() => torHasPodCidr(rig.bird))]);
        nodeMs.push(n);
        torMs.push(t);
      } finally {
        await lab.exec(rig.tor, ['iptables-nft', '-D', ...rule]);
      }
    }
    return {
      mode,
      intervalMs,
      cuts,
      nodeMs: summarize(nodeMs),
      torMs: summarize(torMs),
      loadavg: loadavg()[0] ?? 0,
    };
  } finally {
    const failures = await teardown.run();
    if (failures.length > 0) process.stderr.write(`bfd-failover teardown: ${failures.join('; ')}\n`);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      cuts: { type: 'string', default: '20' },
      intervals: { type: 'string', default: '300,100' },
      modes: { type: 'string', default: MODES.join(',') },
    },
  });
  const cuts = Number(values.cuts);
  const intervals = values.intervals.split(',').map(Number);
  const modes = values.modes.split(',');
  if (!Number.isInteger(cuts) || cuts < 1) throw new Error(`--cuts ${values.cuts} is not a positive integer`);
  if (intervals.some((v) => !Number.isInteger(v) || v < 10))
    throw new Error(`--intervals ${values.intervals}`);
  const bad = modes.find((m) => !(MODES as readonly string[]).includes(m));
  if (bad !== undefined) throw new Error(`--modes: ${bad} is not one of ${MODES.join(', ')}`);
  const rows: string[] = [];
  for (const mode of modes as Mode[])
    for (const intervalMs of intervals) {
      const r = await runInterval(mode, intervalMs, cuts);
      process.stdout.write(`${JSON.stringify({ bench: 'bfd-failover', ...r })}\n`);
      rows.push(
        `| ${mode} | ${intervalMs} ms × 3 | ${cuts} | ${r.nodeMs.p50} / ${r.nodeMs.p99} / ${r.nodeMs.max} ms | ` +
          `${r.torMs.p50} / ${r.torMs.p99} / ${r.torMs.max} ms | ${r.loadavg.toFixed(2)} |`,
      );
    }
  process.stderr.write(
    [
      '| mode | BFD | cuts | node: no longer via the ToR (speaker: RIB, agent: kernel) p50 / p99 / max | ToR: node route withdrawn p50 / p99 / max | load |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  return 0;
}
