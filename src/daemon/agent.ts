// The node daemon's wiring, the only place that connects the two libraries: datastore →
// calculation → Speaker and Dataplane, and the best paths the speaker learns → kernel routes.
//
// Rules this file keeps:
// - One owner: every reconcile runs in one loop; a change during a pass causes exactly one more.
// - A pod CIDR is announced over BGP only after its blackhole route is programmed in the kernel
//   (otherwise peers would send us traffic we would route back out by the default route).
// - Nothing is withdrawn because the datastore is unhealthy: an API-server outage or an invalid
//   file keeps the last good snapshot, and readiness says why.
// - stop() sends a graceful Cease to every peer (RFC 8538: Administrative Reset, so peers that
//   exchanged the N bit keep our routes as stale until we are back) and leaves the kernel as it
//   is (routes, rules, ipsets), so traffic keeps flowing across a restart; the next agent adopts
//   that state without a flap and sets the R bit in its OPENs when it found routes to carry over.
// - A restart (also after SIGKILL) is a BGP graceful restart (RFC 4724 §4.1, restarting speaker):
//   the routes to other nodes found in the kernel are kept until the speaker has received End-of-RIB
//   from every peer (or SELECTION_DEFERRAL_MS passed), and the peers are configured only after the
//   first announcement pass, so the first UPDATE carries our pod CIDRs before our End-of-RIB.
//   Otherwise the first pass would program the dataplane with no BGP routes yet and delete the remote
//   routes it adopted, and sessions that came up before the announcements would send an End-of-RIB
//   that makes every peer flush the stale routes to our pod CIDR: pods on the restarting node would
//   lose traffic (test/interop/lab-e2e-restart.test.ts checks that none do).
import { hostname } from 'node:os';
import { Speaker } from '../../bgp/speaker/speaker.ts';
import type { PeerConfig, PeerStatus, SpeakerOptions } from '../../bgp/speaker/types.ts';
import { Dataplane } from '../../felix/dataplane/dataplane.ts';
import type { CommandRunner } from '../../felix/dataplane/exec.ts';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { parseKernelRoutes } from '../../felix/dataplane/netlink/routes-json.ts';
import { MARGAY_RT_PROTO, type RouteSpec } from '../../felix/model/routes.ts';
import type { MetricFamily } from '../api/metrics.ts';
import { dataplanePolicySchema, dataplaneRoutesSchema } from '../api/schemas.ts';
import type { StatusSource } from '../api/server.ts';
import { calculate, chooseAddress, remoteRoutes } from '../calc/index.ts';
import type { CalculatedState, NodeIdentity, PeerType } from '../calc/types.ts';
import type { AgentConfig } from '../config/agent.ts';
import type { Datastore } from '../datastore/types.ts';
import { log } from '../log.ts';
import { VERSION } from '../version.ts';
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

/**
 * RFC 4724 §4.1 Selection_Deferral_Timer: the longest a restarted agent keeps the routes it found
 * in the kernel while waiting for End-of-RIB from its peers (a peer that never comes back).
 */
export const SELECTION_DEFERRAL_MS = 60_000;
const SYNC_POLL_MS = 200;

interface BestPath {
  readonly family: 'ipv4-unicast' | 'ipv6-unicast';
  readonly nextHops: readonly string[];
}

export class Agent {
  readonly #config: AgentConfig;
  readonly #datastore: Datastore;
  readonly #nodeName: string;
  readonly #dataplane: Dataplane | null;
  readonly #bestPaths = new Map<string, BestPath>();
  readonly #netns: string | undefined;
  /**
   * Routes via other nodes found in the kernel at start, kept until BGP has resynchronised:
   * undefined = not read yet, null = nothing kept (any more).
   */
  #carried: RouteSpec[] | null | undefined;
  #carriedSince = 0;
  #syncTimer: NodeJS.Timeout | null = null;
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
    this.#netns = opts.netns;
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
  }

  get nodeName(): string {
    return this.#nodeName;
  }

  async start(): Promise<void> {
    this.#datastore.on('ready', () => this.#schedule());
    this.#datastore.on('changed', () => this.#schedule());
    this.#datastore.on('error', (err) =>
      log('warn', 'datastore.error', { code: err.code, error: err.message }),
    );
    await this.#datastore.start();
    if (this.#datastore.ready()) this.#schedule();
  }

  /** Cease to every peer; the kernel state stays, so traffic keeps flowing across a restart. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#endCarryOver();
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
    const snapshot = this.#datastore.snapshot();
    this.#identity ??= await this.#detectIdentity();
    const state = calculate(snapshot, this.#identity);
    this.#state = state;
    for (const p of state.problems) log('warn', 'calc.problem', { problem: p });
    if (!state.node) return; // not in the datastore (yet): keep whatever is programmed

    // Before the speaker exists: whether we kept forwarding state decides the R bit (RFC 4724 §4.1).
    if (this.#dataplane && this.#carried === undefined) await this.#readCarried();
    await this.#ensureSpeaker(state);
    const speaker = this.#speaker as Speaker;
    this.#peerTypes = new Map(state.peers.map((p) => [p.address, p.peerType]));
    try {
      await this.#program(state, speaker);
    } finally {
      // After the announcements: a session that comes up now sends our pod CIDRs, then End-of-RIB.
      speaker.setPeers(state.peers.map(({ peerType: _t, source: _s, ...peer }): PeerConfig => peer));
    }
  }

  async #program(state: CalculatedState, speaker: Speaker): Promise<void> {
    if (!this.#dataplane) {
      speaker.setLocalRoutes(state.announcements);
      this.#announced = state.announcements.map((a) => a.prefix);
      return;
    }
    if (this.#carried === undefined) await this.#readCarried();
    else if (this.#carried !== null && this.#isBgpSynced()) this.#endCarryOver();
    this.#dataplane.setDesired({
      routes: [...state.dataplane.localRoutes, ...this.#remoteRoutes(state)],
      endpoints: state.dataplane.endpoints,
      iptables: state.dataplane.iptables,
      ipsets: state.dataplane.ipsets,
      vxlan: state.dataplane.vxlan,
      ipip: state.dataplane.ipip ?? undefined,
    });
    await this.#dataplane.idle();
    // Announce only the pod CIDRs whose blackhole the kernel now has.
    const programmed = new Set(
      this.#dataplane
        .listRoutes()
        .filter((r) => r.type === 'blackhole' && r.state === 'programmed')
        .map((r) => r.dst),
    );
    const ready = state.announcements.filter((a) => programmed.has(a.prefix));
    speaker.setLocalRoutes(ready);
    this.#announced = ready.map((a) => a.prefix);
  }

  #remoteRoutes(state: CalculatedState): RouteSpec[] {
    const bestPaths = [...this.#bestPaths].map(([prefix, p]) => ({
      prefix,
      family: p.family,
      nextHops: p.nextHops,
    }));
    const routes = remoteRoutes({ bestPaths, state, snapshot: this.#datastore.snapshot() });
    if (!this.#carried || this.#carried.length === 0) return routes;
    const key = (r: RouteSpec) => `${r.table ?? 254}|${r.dst}`;
    const have = new Set([...routes, ...state.dataplane.localRoutes].map(key));
    return [...routes, ...this.#carried.filter((r) => !have.has(key(r)))];
  }

  /**
   * Before the first dataplane pass: the routes via other nodes that a previous agent left in the
   * kernel (our protocol, unicast, through a gateway). They stay programmed until BGP has
   * resynchronised (RFC 4724 §4.1: the forwarding state is kept across the restart).
   */
  async #readCarried(): Promise<void> {
    const protocol = this.#config.dataplane.routeProtocol ?? MARGAY_RT_PROTO;
    const netlink = new Netlink(this.#netns !== undefined ? { netns: this.#netns } : {});
    const carried: RouteSpec[] = [];
    try {
      for (const family of [4, 6] as const) {
        const json = await netlink.read(
          'ip',
          ['-N', '-d', 'route', 'show', 'table', 'all', 'proto', String(protocol)],
          family,
        );
        for (const r of parseKernelRoutes(json, family, protocol)) {
          const c = r.canonical;
          if (c === undefined || c.type !== 'unicast' || !c.nextHops.some((h) => h.gateway !== undefined))
            continue;
          carried.push({
            dst: c.dst,
            table: c.table,
            type: c.type,
            nextHops: c.nextHops,
            ...(c.src !== undefined ? { src: c.src } : {}),
            ...(c.mtu !== undefined ? { mtu: c.mtu } : {}),
            reason: 'kept from before the agent restarted until BGP has resynchronised (graceful restart)',
          });
        }
      }
    } catch (err) {
      log('warn', 'agent.carry-over', { error: (err as Error).message });
      this.#carried = null;
      return;
    }
    if (carried.length === 0) {
      this.#carried = null;
      return;
    }
    this.#carried = carried;
    this.#carriedSince = Date.now();
    log('info', 'agent.carry-over', { routes: carried.length, until: 'End-of-RIB from every peer' });
    this.#syncTimer = setInterval(() => {
      if (this.#isBgpSynced()) this.#schedule();
    }, SYNC_POLL_MS);
    this.#syncTimer.unref();
  }

  /** Every peer Established and its End-of-RIB received in every family, or the deferral is over. */
  #isBgpSynced(): boolean {
    if (Date.now() - this.#carriedSince >= SELECTION_DEFERRAL_MS) return true;
    const peers = this.#speaker?.peers();
    if (peers === undefined) return false;
    // The first pass programs the dataplane before the peers are handed to the speaker (so their
    // first UPDATE carries our pod CIDRs): an empty peer list then means "not yet", not "synced".
    if (peers.length < (this.#state?.peers.length ?? 0)) return false;
    return peers.every(
      (p) => p.state === 'Established' && p.families.every((f) => p.endOfRibReceived?.includes(f) ?? false),
    );
  }

  #endCarryOver(): void {
    if (this.#syncTimer !== null) clearInterval(this.#syncTimer);
    this.#syncTimer = null;
    if (this.#carried)
      log('info', 'agent.carry-over-done', {
        routes: this.#carried.length,
        afterMs: Date.now() - this.#carriedSince,
      });
    this.#carried = null;
  }

  async #ensureSpeaker(state: CalculatedState): Promise<void> {
    const s = state.speaker;
    const key = JSON.stringify([s.asn, s.routerId, s.clusterId, s.listenPort]);
    if (this.#speaker && key === this.#speakerKey) return;
    if (this.#speaker) {
      log('info', 'agent.speaker-restart', { reason: 'AS number, router id, cluster id or port changed' });
      // Another AS or router id is another speaker: peers must not keep our routes (RFC 8538 §3).
      await this.#speaker.stop({ message: 'BGP identity changed', hardReset: true });
      this.#bestPaths.clear();
    }
    const { listenPort, ...options } = s;
    const speakerOptions: SpeakerOptions = {
      ...options,
      hostname: this.#nodeName,
      listen: this.#config.bgp.enabled ? { address: this.#config.bgp.listenAddress, port: listenPort } : null,
      // RFC 4724 §4.1 R bit: we came up after a restart and found our routes in the kernel.
      gracefulRestartRestarting: (this.#carried?.length ?? 0) > 0,
    };
    const speaker = new Speaker(speakerOptions);
    speaker.on('bestPathChanged', (e) => {
      if (e.nextHops.length === 0) this.#bestPaths.delete(e.prefix);
      else this.#bestPaths.set(e.prefix, { family: e.family, nextHops: e.nextHops });
      this.#schedule();
    });
    await speaker.start();
    this.#speaker = speaker;
    this.#speakerKey = key;
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
