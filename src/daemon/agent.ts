// The node daemon's wiring, the only place that connects the two libraries: datastore →
// calculation → Speaker and Dataplane, and the best paths the speaker learns → kernel routes.
//
// The calculation is a CalcGraph (src/calc/graph.ts) fed by changes: the first snapshot as added
// objects, then the datastore's per-object changes and the speaker's best-path changes. A pass
// hands the Speaker and the Dataplane only the parts that are new objects since what they were
// last handed, so a best-path change touches routes only (no policy work, no iptables or ipset
// write), a pod change does not touch peers, and so on.
//
// Rules this file keeps:
// - One owner: every reconcile runs in one loop; a change during a pass causes exactly one more.
// - The event loop stays free: feeding the graph and the periodic check of its inputs work in
//   slices of at most SLICE_MS and yield between them (BGP keepalives and the API go on).
// - An invalid object is isolated: the calculation reports it (logged once when it appears,
//   listed by /v1/status, counted by kind in margay_calc_problems) and everything else proceeds.
// - A full comparison of the graph's inputs with the datastore's snapshot runs every dataplane
//   resync interval, as a safety net: what it finds is fed as changes and logged.
// - A pod CIDR is announced over BGP only after its blackhole route is programmed in the kernel
//   (otherwise peers would send us traffic we would route back out by the default route).
// - Nothing is withdrawn because the datastore is unhealthy: an API-server outage or an invalid
//   file keeps the last good snapshot, and readiness says why.
// - stop() sends a graceful Cease to every peer (RFC 8538: Administrative Reset, so peers that
//   exchanged the N bit keep our routes as stale until we are back) and leaves the kernel as it
//   is (routes, rules, ipsets), so traffic keeps flowing across a restart; the next agent adopts
//   that state without a flap and sets the R bit in its OPENs when it found routes to carry over.
// - A restart (also after SIGKILL) is a BGP graceful restart (carry-over.ts): the routes to other
//   nodes found in the kernel are adopted before the first pass and kept until BGP has
//   resynchronised, and the peers are configured only after the first announcement pass, so the
//   first UPDATE carries our pod CIDRs before our End-of-RIB (otherwise sessions that came up
//   before the announcements would send an End-of-RIB that makes every peer flush the stale routes
//   to our pod CIDR).
import { hostname } from 'node:os';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { Speaker } from '../../bgp/speaker/speaker.ts';
import type { LocalRoute, PeerConfig, PeerStatus, SpeakerOptions } from '../../bgp/speaker/types.ts';
import { Dataplane, type DataplaneDesired } from '../../felix/dataplane/dataplane.ts';
import type { CommandRunner } from '../../felix/dataplane/exec.ts';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import type { RouteSpec } from '../../felix/model/routes.ts';
import type { MetricFamily } from '../api/metrics.ts';
import { dataplanePolicySchema, dataplaneRoutesSchema } from '../api/schemas.ts';
import type { StatusSource } from '../api/server.ts';
import { CalcGraph, chooseAddress, snapshotChanges } from '../calc/index.ts';
import type { CalcOutput, CalculatedState, DesiredPeer, NodeIdentity, PeerType } from '../calc/types.ts';
import type { AgentConfig } from '../config/agent.ts';
import type { Datastore, ResourceChange, Snapshot } from '../datastore/types.ts';
import { log } from '../log.ts';
import type { Resource, ResourceKind } from '../model/resource.ts';
import { SNAPSHOT_FIELD, sameResource } from '../model/snapshot.ts';
import { VERSION } from '../version.ts';
import { CarryOver } from './carry-over.ts';
import { listInterfaces, sourceAddressTowards } from './interfaces.ts';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly datastore: Datastore;
  /** Program another network namespace than our own (tests); default: ours. */
  readonly netns?: string;
  /**
   * Runs the dataplane's iptables and ipset commands (a benchmark wraps the real runner to see what
   * is written and when); default real processes. ip, bridge and sysctl writes go through the
   * Dataplane's own Netlink processes either way.
   */
  readonly runner?: CommandRunner;
}

/** The longest stretch of calculation work between two yields of the event loop. */
export const SLICE_MS = 10;
/** Changes applied between two looks at the clock. */
const SLICE_CHANGES = 64;
/** The kinds margay_calc_problems always has a sample for (a problem names its kind first). */
const PROBLEM_KINDS: readonly ResourceKind[] = [
  'Node',
  'Pod',
  'Namespace',
  'NetworkPolicy',
  'BGPConfiguration',
  'BGPPeer',
  'IPPool',
];

/** Yields the event loop whenever SLICE_MS of work has run since the last yield. */
class Slicer {
  #since = performance.now();

  async tick(): Promise<void> {
    if (performance.now() - this.#since < SLICE_MS) return;
    await yieldLoop();
    this.#since = performance.now();
  }
}

/** The routes handed to the Dataplane and the pieces they were made of. */
interface DesiredRoutes {
  readonly local: readonly RouteSpec[];
  readonly remote: readonly RouteSpec[];
  readonly routes: readonly RouteSpec[];
}

export class Agent {
  readonly #config: AgentConfig;
  readonly #datastore: Datastore;
  readonly #nodeName: string;
  readonly #dataplane: Dataplane | null;
  /** The calculation; null until the first snapshot has been fed. */
  #graph: CalcGraph | null = null;
  /** Datastore changes not yet fed to the graph, in order. */
  #pending: ResourceChange[] = [];
  #inputsCheckTimer: NodeJS.Timeout | null = null;
  #inputsCheckDue = false;
  /** What the Dataplane and the Speaker were last handed (identity tells what is new). */
  #handed: DataplaneDesired | undefined;
  #desiredRoutes: DesiredRoutes | undefined;
  #handedPeers: readonly DesiredPeer[] | undefined;
  #handedAnnouncements: readonly LocalRoute[] | undefined;
  /** Problems already logged (a problem is logged when it appears). */
  #loggedProblems: ReadonlySet<string> = new Set();
  #problemsByKind = new Map<string, number>();
  /** The graceful restart: routes found in the kernel kept until BGP has resynchronised. */
  readonly #carryOver: CarryOver | null;
  readonly #started = Date.now();
  #speaker: Speaker | null = null;
  #speakerKey = '';
  #identity: NodeIdentity | null = null;
  #state: CalculatedState | null = null;
  #peerTypes = new Map<string, PeerType>();
  #announced: readonly string[] = [];
  #dirty = false;
  #loop: Promise<void> | null = null;
  #stopped = false;
  #lastReconcileError: string | undefined;

  constructor(opts: AgentOptions) {
    this.#config = opts.config;
    this.#datastore = opts.datastore;
    this.#nodeName = opts.config.nodeName ?? process.env.NODENAME ?? hostname();
    this.#dataplane = opts.config.dataplane.enabled
      ? new Dataplane({
          netns: opts.netns,
          ...(opts.runner !== undefined
            ? {
                runner: opts.runner,
                netlink: new Netlink(opts.netns !== undefined ? { netns: opts.netns } : {}),
              }
            : {}),
          routeProtocol: opts.config.dataplane.routeProtocol,
          resyncIntervalMs: opts.config.dataplane.resyncIntervalSeconds * 1000,
          backend:
            opts.config.dataplane.iptablesBackend === 'auto'
              ? undefined
              : opts.config.dataplane.iptablesBackend,
        })
      : null;
    this.#carryOver = this.#dataplane
      ? new CarryOver({
          dataplane: this.#dataplane,
          peers: () => this.#speaker?.peers(),
          wantedPeers: () => this.#state?.peers.length ?? 0,
          onSynced: () => this.#schedule(),
        })
      : null;
  }

  get nodeName(): string {
    return this.#nodeName;
  }

  async start(): Promise<void> {
    this.#datastore.on('ready', () => this.#schedule());
    this.#datastore.on('changed', (e) => {
      for (const c of e.changes) this.#pending.push(c);
      this.#schedule();
    });
    this.#datastore.on('error', (err) =>
      log('warn', 'datastore.error', { code: err.code, error: err.message }),
    );
    await this.#datastore.start();
    if (this.#datastore.ready()) this.#schedule();
  }

  /** Cease to every peer; the kernel state stays, so traffic keeps flowing across a restart. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#carryOver?.stop();
    if (this.#inputsCheckTimer !== null) clearInterval(this.#inputsCheckTimer);
    this.#inputsCheckTimer = null;
    await this.#loop;
    await this.#datastore.stop();
    await this.#speaker?.stop({ message: `margay agent on ${this.#nodeName} shutting down` });
    await this.#dataplane?.stop();
  }

  /** Wait until no reconcile is pending (tests and `lab up`). */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  #schedule(): void {
    this.#dirty = true;
    if (this.#loop || this.#stopped) return;
    this.#loop = (async () => {
      try {
        while (this.#dirty && !this.#stopped) {
          this.#dirty = false;
          try {
            await this.#reconcile();
            this.#lastReconcileError = undefined;
          } catch (err) {
            this.#lastReconcileError = (err as Error).message;
            log('error', 'agent.reconcile', { error: (err as Error).message });
          }
        }
      } finally {
        this.#loop = null;
      }
    })();
  }

  async #detectIdentity(): Promise<NodeIdentity> {
    const interfaces = await listInterfaces();
    const node = this.#datastore.snapshot().nodes.get(this.#nodeName);
    const pick = async (method: string, family: 4 | 6): Promise<string | undefined> => {
      const reach = method.startsWith('can-reach=') ? method.slice('can-reach='.length) : undefined;
      const source = reach ? await sourceAddressTowards(reach) : undefined;
      const result = chooseAddress(method, { family, interfaces, node, canReachSource: source });
      if (!result.ok) log('warn', 'agent.autodetect', { family, method, error: result.error });
      return result.ok ? result.cidr : undefined;
    };
    return {
      name: this.#nodeName,
      ipv4: await pick(this.#config.ipv4Autodetection, 4),
      ipv6: this.#config.ipv6Autodetection ? await pick(this.#config.ipv6Autodetection, 6) : undefined,
      mtu: this.#config.dataplane.mtu,
    };
  }

  async #reconcile(): Promise<void> {
    if (!this.#datastore.ready()) return;
    this.#identity ??= await this.#detectIdentity();
    const graph = await this.#feedGraph(this.#identity);
    if (graph === null) return;
    let out = graph.update();
    this.#state = out.state;
    this.#reportProblems(out.state.problems);
    if (!out.state.node) return; // not in the datastore (yet): keep whatever is programmed

    // Before the speaker exists: whether we kept forwarding state decides the R bit (RFC 4724 §4.1).
    await this.#carryOver?.check();
    if (await this.#ensureSpeaker(out.state)) out = graph.update(); // a new speaker: no best paths yet
    const speaker = this.#speaker as Speaker;
    const state = out.state;
    try {
      await this.#program(out, speaker);
    } finally {
      // After the announcements: a session that comes up now sends our pod CIDRs, then End-of-RIB.
      if (state.peers !== this.#handedPeers) {
        this.#peerTypes = new Map(state.peers.map((p) => [p.address, p.peerType]));
        speaker.setPeers(state.peers.map(({ peerType: _t, source: _s, ...peer }): PeerConfig => peer));
        this.#handedPeers = state.peers;
      }
    }
  }

  /**
   * Feed the graph what the datastore has that it has not seen: on the first pass the whole
   * snapshot as added objects (the changes queued until then are in it), then the queued changes;
   * when the periodic check is due, the differences between its inputs and the snapshot. In slices
   * (SLICE_MS); null when the agent stopped meanwhile.
   */
  async #feedGraph(identity: NodeIdentity): Promise<CalcGraph | null> {
    let graph = this.#graph;
    if (graph === null) {
      graph = new CalcGraph(identity);
      const changes = snapshotChanges(this.#datastore.snapshot());
      this.#pending = [];
      if (!(await this.#applySliced(graph, changes))) return null;
      this.#graph = graph;
      this.#inputsCheckTimer = setInterval(() => {
        this.#inputsCheckDue = true;
        this.#schedule();
      }, this.#config.dataplane.resyncIntervalSeconds * 1000);
      this.#inputsCheckTimer.unref();
    }
    while (this.#pending.length > 0) {
      const changes = this.#pending;
      this.#pending = [];
      if (!(await this.#applySliced(graph, changes))) return null;
    }
    if (this.#inputsCheckDue) {
      this.#inputsCheckDue = false;
      const drift = await this.#inputDrift(graph, this.#datastore.snapshot());
      if (drift === null) return null;
      if (drift.length > 0) {
        log('warn', 'calc.resync', {
          changes: drift.length,
          objects: drift.slice(0, 10).map((c) => `${c.type} ${c.kind} ${c.key}`),
        });
        if (!(await this.#applySliced(graph, drift))) return null;
      }
    }
    return graph;
  }

  /** Feed changes in slices; false when the agent stopped meanwhile. */
  async #applySliced(graph: CalcGraph, changes: readonly ResourceChange[]): Promise<boolean> {
    const slicer = new Slicer();
    for (let i = 0; i < changes.length; i += SLICE_CHANGES) {
      graph.applyChanges(changes.slice(i, i + SLICE_CHANGES));
      await slicer.tick();
      if (this.#stopped) return false;
    }
    return true;
  }

  /**
   * The changes that bring the graph's inputs to `snapshot` (identity first, then content; objects
   * the graph isolated are left out), in slices; null when the agent stopped meanwhile.
   */
  async #inputDrift(graph: CalcGraph, snapshot: Snapshot): Promise<ResourceChange[] | null> {
    const slicer = new Slicer();
    const inputs = graph.inputs();
    const drift: ResourceChange[] = [];
    for (const [kind, field] of Object.entries(SNAPSHOT_FIELD) as [ResourceKind, keyof Snapshot][]) {
      const have = inputs[field] as ReadonlyMap<string, Resource>;
      const want = snapshot[field] as ReadonlyMap<string, Resource>;
      let n = 0;
      for (const [key, resource] of want) {
        const had = have.get(key);
        if (had === undefined) {
          if (!graph.isIsolated(kind, key)) drift.push({ type: 'added', kind, key, resource });
        } else if (had !== resource && !sameResource(had, resource))
          drift.push({ type: 'modified', kind, key, resource, previous: had });
        if (++n % SLICE_CHANGES === 0) {
          await slicer.tick();
          if (this.#stopped) return null;
        }
      }
      for (const [key, resource] of have)
        if (!want.has(key)) drift.push({ type: 'deleted', kind, key, resource });
    }
    return drift;
  }

  /** Log each problem once when it appears; count the current ones by kind (their first word). */
  #reportProblems(problems: readonly string[]): void {
    const seen = new Set(problems);
    for (const p of problems) if (!this.#loggedProblems.has(p)) log('warn', 'calc.problem', { problem: p });
    for (const p of this.#loggedProblems)
      if (!seen.has(p)) log('info', 'calc.problem-resolved', { problem: p });
    this.#loggedProblems = seen;
    const byKind = new Map<string, number>();
    for (const p of problems) {
      const kind = p.slice(0, Math.max(0, p.indexOf(' '))) || p;
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    }
    this.#problemsByKind = byKind;
  }

  async #program(out: CalcOutput, speaker: Speaker): Promise<void> {
    const state = out.state;
    if (!this.#dataplane) {
      if (state.announcements !== this.#handedAnnouncements) {
        speaker.setLocalRoutes(state.announcements);
        this.#handedAnnouncements = state.announcements;
        this.#announced = state.announcements.map((a) => a.prefix);
      }
      return;
    }
    await this.#carryOver?.check();
    const d = state.dataplane;
    const desired: DataplaneDesired = {
      routes: this.#routesFor(d.localRoutes, out.remoteRoutes),
      endpoints: d.endpoints,
      iptables: d.iptables,
      ipsets: d.ipsets,
      vxlan: d.vxlan,
      ipip: d.ipip ?? undefined,
    };
    const last = this.#handed;
    if (
      last === undefined ||
      last.routes !== desired.routes ||
      last.endpoints !== desired.endpoints ||
      last.iptables !== desired.iptables ||
      last.ipsets !== desired.ipsets ||
      last.vxlan !== desired.vxlan ||
      last.ipip !== desired.ipip
    ) {
      this.#dataplane.setDesired(desired);
      this.#handed = desired;
    }
    await this.#dataplane.idle();
    // Announce only the pod CIDRs whose blackhole the kernel now has.
    const dp = this.#dataplane;
    const ready = state.announcements.filter((a) => {
      const r = dp.routeState(a.prefix);
      return r?.type === 'blackhole' && r.state === 'programmed';
    });
    const announced = this.#announced;
    if (
      state.announcements !== this.#handedAnnouncements ||
      ready.length !== announced.length ||
      ready.some((a, i) => a.prefix !== announced[i])
    ) {
      speaker.setLocalRoutes(ready);
      this.#handedAnnouncements = state.announcements;
      this.#announced = ready.map((a) => a.prefix);
    }
  }

  /** The routes for the Dataplane: the blackholes and the remote routes; the same array when neither moved. */
  #routesFor(local: readonly RouteSpec[], remote: readonly RouteSpec[]): readonly RouteSpec[] {
    const last = this.#desiredRoutes;
    if (last !== undefined && last.local === local && last.remote === remote) return last.routes;
    const routes = [...local, ...remote];
    this.#desiredRoutes = { local, remote, routes };
    return routes;
  }

  /** Start the speaker, or a new one when its identity changed; true when one was started. */
  async #ensureSpeaker(state: CalculatedState): Promise<boolean> {
    const s = state.speaker;
    const key = JSON.stringify([s.asn, s.routerId, s.clusterId, s.listenPort]);
    if (this.#speaker && key === this.#speakerKey) return false;
    if (this.#speaker) {
      log('info', 'agent.speaker-restart', { reason: 'AS number, router id, cluster id or port changed' });
      // Another AS or router id is another speaker: peers must not keep our routes (RFC 8538 §3).
      await this.#speaker.stop({ message: 'BGP identity changed', hardReset: true });
      this.#graph?.clearBestPaths();
      this.#handedPeers = undefined;
      this.#handedAnnouncements = undefined;
      this.#announced = [];
    }
    const { listenPort, ...options } = s;
    const speakerOptions: SpeakerOptions = {
      ...options,
      hostname: this.#nodeName,
      listen: this.#config.bgp.enabled ? { address: this.#config.bgp.listenAddress, port: listenPort } : null,
      // RFC 4724 §4.1 R bit: we came up after a restart and found our routes in the kernel.
      gracefulRestartRestarting: this.#carryOver?.restarting ?? false,
    };
    const speaker = new Speaker(speakerOptions);
    speaker.on('bestPathChanged', (e) => {
      this.#graph?.setBestPath(e.prefix, e.family, e.nextHops);
      this.#schedule();
    });
    await speaker.start();
    this.#speaker = speaker;
    this.#speakerKey = key;
    return true;
  }

  #peers(): (PeerStatus & { peerType?: PeerType })[] {
    return (this.#speaker?.peers() ?? []).map((p) => ({ ...p, peerType: this.#peerTypes.get(p.address) }));
  }

  #readiness(): { ok: boolean; code?: string; reason?: string } {
    if (!this.#datastore.ready()) {
      return {
        ok: false,
        code: 'DATASTORE_NOT_SYNCED',
        reason: `datastore not synced${this.#datastore.lastError ? `: ${this.#datastore.lastError.message}` : ''}`,
      };
    }
    if (this.#datastore.lastError)
      return {
        ok: false,
        code: 'DATASTORE_ERROR',
        reason: `datastore: ${this.#datastore.lastError.message}`,
      };
    if (!this.#state?.node)
      return {
        ok: false,
        code: 'NODE_UNKNOWN',
        reason: `node ${this.#nodeName} is not in the datastore or has no address`,
      };
    if (!this.#speaker) return { ok: false, code: 'BGP_NOT_STARTED', reason: 'BGP speaker not started' };
    const dp = this.#dataplane?.status();
    if (dp && !dp.ready) {
      return {
        ok: false,
        code: 'DATAPLANE_NOT_PROGRAMMED',
        reason: `dataplane not programmed${dp.lastError ? `: ${dp.lastError.message}` : ''}`,
      };
    }
    return { ok: true };
  }

  #metrics(): MetricFamily[] {
    const dp = this.#dataplane?.status();
    const families: MetricFamily[] = [
      {
        name: 'margay_datastore_ready',
        help: '1 when the datastore has synced and its last update was accepted.',
        type: 'gauge',
        samples: [{ value: this.#datastore.ready() && !this.#datastore.lastError ? 1 : 0 }],
      },
      {
        name: 'margay_calc_problems',
        help: 'Problems the calculation reports now (objects it refused or skipped), by object kind.',
        type: 'gauge',
        samples: [
          ...PROBLEM_KINDS.map((kind) => ({ labels: { kind }, value: this.#problemsByKind.get(kind) ?? 0 })),
          ...[...this.#problemsByKind]
            .filter(([kind]) => !(PROBLEM_KINDS as readonly string[]).includes(kind))
            .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
            .map(([kind, value]) => ({ labels: { kind }, value })),
        ],
      },
      {
        name: 'margay_bgp_announced_prefixes',
        help: 'Pod CIDRs this node announces (only after their blackhole is programmed).',
        type: 'gauge',
        samples: [{ value: this.#announced.length }],
      },
    ];
    if (dp) {
      families.push(
        {
          name: 'margay_dataplane_in_sync',
          help: '1 when the last dataplane pass succeeded and nothing is pending.',
          type: 'gauge',
          samples: [{ value: dp.inSync ? 1 : 0 }],
        },
        {
          name: 'margay_dataplane_apply_failures_total',
          help: 'Dataplane passes that failed (each is retried with backoff).',
          type: 'counter',
          samples: [{ value: dp.totalFailures }],
        },
        {
          name: 'margay_dataplane_routes',
          help: 'Kernel routes Margay wants, by state.',
          type: 'gauge',
          samples: [
            { labels: { state: 'programmed' }, value: dp.counts.routesProgrammed },
            { labels: { state: 'conflict' }, value: dp.counts.routeConflicts },
          ],
        },
        {
          name: 'margay_dataplane_last_apply_seconds',
          help: 'Duration of the last dataplane pass.',
          type: 'gauge',
          samples: [{ value: (dp.lastDurationMs ?? 0) / 1000 }],
        },
      );
    }
    return families;
  }

  /** What the REST API shows (src/api/server.ts). */
  statusSource(extraMetrics: () => readonly MetricFamily[]): StatusSource {
    return {
      status: () => {
        const peers = this.#peers();
        const node = this.#state?.node;
        return {
          version: VERSION,
          mode: 'agent',
          hostname: this.#nodeName,
          asn: node?.asn,
          routerId: node?.routerId,
          uptimeSeconds: (Date.now() - this.#started) / 1000,
          ready: this.#readiness().ok,
          peers: { total: peers.length, established: peers.filter((p) => p.state === 'Established').length },
          node: node ?? null,
          announced: this.#announced,
          problems: [
            ...(this.#state?.problems ?? []),
            ...(this.#lastReconcileError ? [this.#lastReconcileError] : []),
          ],
          dataplane: this.#dataplane?.status() ?? null,
        };
      },
      peers: () => this.#peers(),
      routes: (filter) => this.#speaker?.routes(filter) ?? [],
      metrics: () => [...extraMetrics(), ...this.#metrics()],
      live: () => ({ ok: true }),
      ready: () => this.#readiness(),
      extraRoutes: [
        {
          path: '/v1/dataplane/routes',
          summary:
            'Kernel routes Margay wants, each with its reason and state (programmed, pending, conflict, failed)',
          response: dataplaneRoutesSchema,
          handler: () => ({ routes: this.#dataplane?.listRoutes() ?? [] }),
        },
        {
          path: '/v1/dataplane/policy',
          summary: 'iptables rules and ipsets Margay programs, each with the policy it comes from',
          response: dataplanePolicySchema,
          handler: () => this.#dataplane?.describeRules() ?? { rules: [], ipsets: [] },
        },
      ],
    };
  }
}
