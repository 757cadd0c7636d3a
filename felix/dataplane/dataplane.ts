// The Dataplane: the one object the node daemon (src/) drives to make the kernel match the desired
// state and keep it that way (Felix int_dataplane.go, reduced). Declarative and observable:
//
//   dp.setDesired({ routes, endpoints, iptables, ipsets, vxlan, ipip })   // whole state, validated
//   await dp.idle()                                                      // optional: wait for it
//   dp.status() / dp.listRoutes() / dp.describeRules()                   // health, metrics, REST
//   await dp.stop()        // timers off, kernel state LEFT IN PLACE: a restart keeps traffic flowing
//   await dp.adoptCarried() / dp.releaseCarried()   // a restart: keep the remote routes found in the kernel
//   await dp.cleanup()     // everything Margay owns removed, nothing else
//
// How it works:
// - `setDesired` validates the whole state synchronously (FELIX_ERR_INVALID_*: nothing changes, the
//   previous state stays in force) and stages it. The records are immutable once handed over, so
//   a part that is the same object as in the last accepted state is not validated again
//   (desired.ts), and the writers skip by identity what they know to be in place. A pass hands the newest staged state to every
//   reconciler at its very start, so one pass always writes one consistent state (ipsets created for
//   the very rules it writes), never a mix of an old and a new one.
// - One apply loop: at most one pass in flight; changes arriving meanwhile trigger exactly one more
//   (coalesced). A pass is `applyAll` (apply.ts): ipsets → iptables (both families) → links (tunnel
//   devices, FDB/neighbours, workload veth settings) → routes → deferred ipset deletions, retried
//   with backoff; when its retries are used up the loop tries again after `retryIntervalMs`, and
//   status() carries the failure (step, code, cause chain) until a pass succeeds.
// - A route the kernel refuses (or a foreign route holds) is about that route only: the pass goes
//   on, listRoutes() shows it `failed`/`conflict` with the kernel's message, status() lists it in
//   `routeProblems`, and a refused route is tried again after `retryIntervalMs`.
// - A pod route margay-cni wrote (`dev mgy… proto 109`) before its endpoint reached setDesired is
//   left alone for `workloadRouteGracePeriodMs` (route-table.ts header): listRoutes() shows it as
//   `grace` with the time left, status() in `routesInGrace`; a pass runs when the period ends, and
//   deletes it unless the endpoint arrived (then it was adopted with no write).
// - Periodic resync every `resyncIntervalMs` (default 90 s, Felix's route refresh): every reconciler
//   re-reads the kernel and repairs drift (routes of our protocol, our chains and jumps in both
//   families, our ipsets, the VXLAN device with its FDB/neighbours, workload veth sysctls).
// - A local endpoint whose host interface does not exist (the CNI plugin has not made it, or it was
//   deleted) is not programmed: its routes are held back (not written, so the kernel does not
//   refuse them with "Cannot find device" and nothing is retried every `retryIntervalMs`), listed
//   as `pending` by listRoutes() and in status().endpointsNotProgrammed with the reason, and
//   `onWorkloadInterface` hears when it goes missing and when it appears. While any is missing an
//   `ip monitor link` runs, and a link event naming one of them starts a pass, which finds the
//   interface and programs the routes; the periodic resync looks again as well (a watch that could
//   not start or ended, an event before the watch began).
// - Routes carried over a restart (routes/carried.ts): `adoptCarried()` reads the remote routes of
//   our protocol a previous instance left in the kernel and keeps them desired beside what
//   setDesired says (setDesired wins at the same key) until `releaseCarried()`; the pass after the
//   release deletes those that are not desired. The caller decides when (a BGP graceful restart
//   ends when every peer has sent End-of-RIB).
// - Nothing is applied before the first setDesired: an agent that has not heard from its datastore
//   yet must not "converge" the node to an empty state. The first pass of a new instance reads the
//   kernel and adopts what is already right (no route, chain or ipset is rewritten), so a second
//   instance takes over from the first without a flap.
//
// The caller renders policy (felix/calc) and passes the result: this file never imports calc.
import { FelixError } from '../errors.ts';
import { type WorkloadEndpoint, workloadRoutes } from '../model/endpoints.ts';
import type { IpSet } from '../model/ipsets.ts';
import { memberCount } from '../model/ipsets.ts';
import type { InetFamily as IpFamily } from '../model/iptables.ts';
import {
  MARGAY_RT_PROTO,
  type NextHop,
  type RouteSpec,
  type RouteType,
  RT_TABLE_MAIN,
  routeKey,
} from '../model/routes.ts';
import { type ApplyError, type ApplyPart, applyAll, createApplyStatus, type RetryPolicy } from './apply.ts';
import {
  checkIpsetReferences,
  compileIpsets,
  countDesired,
  type DataplaneDesired,
  type DesiredCounts,
  type IptablesMerge,
  type MergedIptables,
  mergeIptables,
} from './desired.ts';
import { type CommandRunner, run as defaultRunner } from './exec.ts';
import { IpsetWriter } from './ipsets/writer.ts';
import { detectBackend, type IptablesBackend } from './iptables/backend.ts';
import { cleanupAll } from './iptables/cleanup.ts';
import { type DescribedRule, IptablesWriter } from './iptables/writer.ts';
import { type CompiledLinks, LinksReconciler, type LinksStats } from './links.ts';
import { Netlink, type NetlinkMonitor } from './netlink/netlink.ts';
import { carriedBeside, readCarried } from './routes/carried.ts';
import { type CompiledRoutes, RouteTable } from './routes/route-table.ts';

export type { DataplaneDesired } from './desired.ts';

export interface DataplaneOptions {
  /** Network namespace to program (`ip netns` name); undefined = the agent's own. */
  readonly netns?: string;
  /** Runs iptables/ipset/sysctl (tests inject fakes); default real processes. */
  readonly runner?: CommandRunner;
  /** ip/bridge wrapper; default one over `runner` in `netns`. */
  readonly netlink?: Netlink;
  /** iptables backend; default detected (detectBackend) before the first pass. */
  readonly backend?: IptablesBackend;
  /** Address families programmed (routes and iptables); default both. */
  readonly families?: readonly (4 | 6)[];
  /** Routing protocol number of our routes (default 109). */
  readonly routeProtocol?: number;
  /** Periodic resync (default 90 000 ms; 0 = none). */
  readonly resyncIntervalMs?: number;
  /** Retries inside one apply (applyAll): attempts and backoff. */
  readonly retry?: RetryPolicy;
  /** After a pass used up its retries, the next try (default 10 000 ms). */
  readonly retryIntervalMs?: number;
  /**
   * How long a route of ours on a workload interface that is not desired (a pod route margay-cni
   * wrote before the endpoint arrived) is left alone before it is deleted (default 30 000 ms;
   * 0 = at once).
   */
  readonly workloadRouteGracePeriodMs?: number;
  /** Clock in ms: status times, grace periods, what `timers` run on (tests inject one). Default Date.now. */
  readonly now?: () => number;
  /**
   * The timers of the periodic resync, of the next try after a failed pass and of a grace
   * period's end; they must run on `now`. Default the host's setTimeout/clearTimeout, unref'd
   * (none of them keeps the process alive). A test that injects a clock injects timers on it, so
   * that moving its clock fires them. The backoff waits inside one pass (`retry`) stay on the
   * host's timers.
   */
  readonly timers?: DataplaneTimers;
  /**
   * Told when a local endpoint's host interface is found missing (`present: false`, its routes are
   * then held back) and when it appears again (`present: true`, its routes are then programmed).
   */
  readonly onWorkloadInterface?: (e: {
    readonly present: boolean;
    readonly endpoint: WorkloadEndpoint;
  }) => void;
}

/** A local endpoint that is not programmed, and why. */
export interface DataplaneEndpointProblem {
  /** "namespace/name". */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly interface: string;
  readonly reason: string;
  /** When it was found so (ms since epoch, the dataplane's clock). */
  readonly since: number;
}

/** Timers on the dataplane's clock (`now`): the host's, or a test's. */
export interface DataplaneTimers {
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
}

/** The host's timers, unref'd. */
const HOST_TIMERS: DataplaneTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface DataplaneCounts extends DesiredCounts {
  readonly routes: number;
  readonly routesProgrammed: number;
  readonly routeConflicts: number;
  /** Routes the kernel refused at the last attempt (`routeProblems` says why). */
  readonly routeFailures: number;
  /** Undesired pod routes kept for the workload grace period (not in `routes`). */
  readonly routesInGrace: number;
  readonly endpoints: number;
  /** Endpoints whose host interface exists and is configured. */
  readonly endpointsWired: number;
  /** Endpoints whose host interface does not exist: their routes wait for it. */
  readonly endpointsMissingInterface: number;
  readonly remoteVteps: number;
}

export interface DataplaneRepairs {
  /** Routes written or deleted by a resync (they had drifted). */
  readonly routes: number;
  readonly iptablesChainsWritten: number;
  readonly iptablesJumpsRepaired: number;
  readonly ipsetEntriesAdded: number;
  readonly ipsetEntriesDeleted: number;
  readonly links: Readonly<LinksStats>;
}

/** What this instance wrote, cumulative (a restart that adopts writes nothing). */
export interface DataplaneIo {
  /** ip/bridge, iptables, ipset processes run. */
  readonly commands: number;
  readonly routeLinesWritten: number;
  readonly iptablesBytesWritten: number;
  readonly ipsetBytesWritten: number;
  readonly linkSettingsWritten: number;
}

export interface DataplaneStatus {
  /** A pass has succeeded and the last one did. */
  readonly ready: boolean;
  readonly inSync: boolean;
  readonly applying: boolean;
  /** A change or resync waits for the pass in flight. */
  readonly pending: boolean;
  readonly stopped: boolean;
  readonly backend: IptablesBackend | undefined;
  /** Passes that succeeded / were attempted (retries included). */
  readonly applies: number;
  readonly attempts: number;
  readonly resyncs: number;
  readonly lastAttemptAt: number | undefined;
  readonly lastSuccessAt: number | undefined;
  readonly lastDurationMs: number | undefined;
  readonly lastResyncAt: number | undefined;
  readonly consecutiveFailures: number;
  readonly totalFailures: number;
  /** The last failure (step, stable code, cause chain); kept after a success for inspection
   * (consecutiveFailures > 0 says it is current). */
  readonly lastError: ApplyError | undefined;
  readonly counts: DataplaneCounts;
  readonly repairs: DataplaneRepairs;
  readonly io: DataplaneIo;
  /** Endpoints whose host veth did not exist at the last pass (CNI not done yet). */
  readonly endpointsNotWired: readonly string[];
  /**
   * Endpoints not programmed, with the reason: their host interface does not exist, so their routes
   * are held back until it appears (a link event starts the pass that programs them).
   */
  readonly endpointsNotProgrammed: readonly DataplaneEndpointProblem[];
  /**
   * Desired routes not in the kernel because of it: a foreign route at the key (`conflict`) or
   * the kernel refused the route (`failed`), with the kernel's message. They do not fail a pass
   * (the other routes are programmed); every pass retries them, and a pass that leaves a failed
   * route schedules another after `retryIntervalMs`.
   */
  readonly routeProblems: readonly DataplaneRouteProblem[];
  /**
   * Routes of ours that are NOT desired but kept: pod routes margay-cni wrote before their endpoint
   * arrived, deleted after `remainingMs` unless it does.
   */
  readonly routesInGrace: readonly DataplaneGraceRoute[];
}

export interface DataplaneGraceRoute {
  readonly family: 4 | 6;
  readonly table: number;
  readonly dst: string;
  readonly dev: string;
  readonly remainingMs: number;
}

export interface DataplaneRouteProblem {
  readonly family: 4 | 6;
  readonly table: number;
  readonly dst: string;
  readonly state: 'conflict' | 'failed';
  readonly message: string;
}

export interface DataplaneRoute {
  readonly family: 4 | 6;
  readonly table: number;
  readonly dst: string;
  readonly type: RouteType;
  readonly nextHops: readonly NextHop[];
  readonly src?: string;
  readonly mtu?: number;
  readonly reason: string;
  /**
   * programmed: the kernel has it as desired; pending: not yet; conflict: a foreign route holds it;
   * failed: the kernel refused it (`message`); grace: NOT desired, a pod route margay-cni wrote
   * before its endpoint arrived, kept for `graceRemainingMs` more (`message` says so).
   */
  readonly state: 'programmed' | 'pending' | 'conflict' | 'failed' | 'grace';
  /** For conflict and failed: the kernel's message at the last attempt; for grace: why it is kept. */
  readonly message?: string;
  /** For grace: ms left before it is deleted unless its endpoint arrives. */
  readonly graceRemainingMs?: number;
}

export interface DataplaneRule extends DescribedRule {
  readonly family: IpFamily;
}

export interface DataplaneIpset {
  readonly name: string;
  readonly type: IpSet['type'];
  readonly family: IpFamily;
  readonly members: number;
  readonly origin?: string;
}

export interface DataplaneCleanupReport {
  readonly routesDeleted: number;
  readonly chainsDeleted: readonly string[];
  readonly jumpsRemoved: readonly string[];
  readonly ipsetsDestroyed: readonly string[];
  readonly linksDeleted: readonly string[];
}

interface Compiled {
  readonly routes: CompiledRoutes;
  readonly iptables: MergedIptables;
  readonly ipsets: readonly IpSet[];
  readonly links: CompiledLinks;
  readonly counts: DesiredCounts;
}

interface Sleeper {
  readonly timer: ReturnType<typeof setTimeout>;
  readonly reject: (err: unknown) => void;
}

const FAMILY_NAMES: Record<4 | 6, IpFamily> = { 4: 'inet', 6: 'inet6' };

export class Dataplane {
  readonly netns: string | undefined;
  readonly families: readonly (4 | 6)[];
  readonly #run: CommandRunner;
  readonly #nl: Netlink;
  readonly #routes: RouteTable;
  readonly #ipsets: IpsetWriter;
  readonly #links: LinksReconciler;
  readonly #resyncIntervalMs: number;
  readonly #retryIntervalMs: number;
  readonly #retry: RetryPolicy;
  readonly #now: () => number;
  readonly #timers: DataplaneTimers;
  #backend: IptablesBackend | undefined;
  #iptables: IptablesWriter[] = [];
  readonly #status = createApplyStatus();
  #staged: Compiled | undefined;
  /** The last accepted desired state and what was compiled from it (reused by identity). */
  #compiled:
    | {
        input: DataplaneDesired;
        output: Compiled;
        iptablesMerge: IptablesMerge;
        /** The adopted routes the routes were compiled with. */
        carried: readonly RouteSpec[] | undefined;
        /** The interfaces whose endpoints' routes were left out. */
        held: ReadonlySet<string>;
      }
    | undefined;
  /** The compiled routes of the local workloads (#compileRoutes) and what they were made from. */
  #localRoutes:
    | {
        readonly endpoints: readonly WorkloadEndpoint[];
        readonly held: ReadonlySet<string>;
        readonly specs: readonly RouteSpec[];
        readonly compiled: CompiledRoutes;
      }
    | undefined;
  /** The compiled routes besides the local workloads' (#compileRoutes) and their list. */
  #otherRoutes: { readonly routes: readonly RouteSpec[]; readonly compiled: CompiledRoutes } | undefined;
  /** Routes adopted by adoptCarried() until releaseCarried(); undefined when none are. */
  #carried: readonly RouteSpec[] | undefined;
  /** Local endpoints whose interface is missing, by interface, and since when: routes held back. */
  #held = new Map<string, { readonly endpoint: WorkloadEndpoint; readonly since: number }>();
  /** The interfaces of #held, as the routes are compiled without them (a new set when it changes). */
  #heldSet: ReadonlySet<string> = new Set();
  /** The `ip monitor link` that runs while an endpoint's interface is missing. */
  #monitor: NetlinkMonitor | undefined;
  readonly #onWorkloadInterface: DataplaneOptions['onWorkloadInterface'];
  #current: Compiled | undefined;
  #pending = false;
  #resyncPending = false;
  #loop: Promise<void> | undefined;
  #stopped = false;
  #resyncTimer: unknown;
  #retryTimer: unknown;
  #graceTimer: unknown;
  readonly #sleepers = new Set<Sleeper>();
  #applies = 0;
  #resyncs = 0;
  #lastResyncAt: number | undefined;
  #routesResync = false;
  readonly #iptablesResync = new Set<IptablesWriter>();

  constructor(opts: DataplaneOptions = {}) {
    this.netns = opts.netns;
    this.families = opts.families ?? [4, 6];
    this.#run = opts.runner ?? defaultRunner;
    this.#nl =
      opts.netlink ??
      new Netlink({
        ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
        ...(opts.runner !== undefined ? { runner: opts.runner } : {}),
      });
    const ns = opts.netns !== undefined ? { netns: opts.netns } : {};
    this.#now = opts.now ?? Date.now;
    this.#timers = opts.timers ?? HOST_TIMERS;
    this.#routes = new RouteTable({
      netlink: this.#nl,
      protocol: opts.routeProtocol ?? MARGAY_RT_PROTO,
      families: this.families,
      now: this.#now,
      ...(opts.workloadRouteGracePeriodMs !== undefined
        ? { workloadGracePeriodMs: opts.workloadRouteGracePeriodMs }
        : {}),
    });
    this.#ipsets = new IpsetWriter({ run: this.#run, ...ns });
    this.#links = new LinksReconciler({ netlink: this.#nl });
    this.#backend = opts.backend;
    this.#resyncIntervalMs = opts.resyncIntervalMs ?? 90_000;
    this.#retryIntervalMs = opts.retryIntervalMs ?? 10_000;
    this.#retry = opts.retry ?? {};
    this.#onWorkloadInterface = opts.onWorkloadInterface;
  }

  /**
   * Hand over the whole desired state. Throws FELIX_ERR_INVALID_DESIRED / FELIX_ERR_INVALID_ROUTE
   * (naming the problem) and changes nothing when any part is invalid; otherwise an apply follows.
   */
  setDesired(desired: DataplaneDesired): void {
    if (this.#stopped) throw new FelixError('FELIX_ERR_STOPPED', 'setDesired on a stopped Dataplane');
    const last = this.#compiled;
    const iptablesMerge = mergeIptables(desired.iptables, last?.iptablesMerge);
    const iptables = iptablesMerge.merged;
    for (const f of [4, 6] as const) {
      if (!this.families.includes(f) && iptables[FAMILY_NAMES[f]].length > 0) {
        throw new FelixError('FELIX_ERR_INVALID_DESIRED', `iptables for IPv${f}, which is not managed here`);
      }
    }
    // What is the same object as in the last accepted state was validated then: it is reused.
    const ipsets = last?.input.ipsets === desired.ipsets ? last.output.ipsets : compileIpsets(desired.ipsets);
    if (iptables !== last?.output.iptables || ipsets !== last.output.ipsets)
      checkIpsetReferences(iptables, ipsets);
    const links =
      last !== undefined &&
      last.input.endpoints === desired.endpoints &&
      last.input.vxlan === desired.vxlan &&
      last.input.ipip === desired.ipip
        ? last.output.links
        : this.#links.compile(desired.endpoints, desired.vxlan, desired.ipip);
    const carried = this.#carried;
    const routes =
      last !== undefined &&
      last.input.routes === desired.routes &&
      last.input.endpoints === desired.endpoints &&
      last.carried === carried &&
      last.held === this.#heldSet
        ? last.output.routes
        : this.#compileRoutes(desired, carried, this.#heldSet);
    const counts =
      last !== undefined && iptables === last.output.iptables && ipsets === last.output.ipsets
        ? last.output.counts
        : countDesired(iptables, ipsets);
    const compiled: Compiled = { routes, iptables, ipsets, links, counts };
    this.#compiled = { input: desired, output: compiled, iptablesMerge, carried, held: this.#heldSet };
    this.#staged = compiled;
    if (this.#resyncTimer === undefined && this.#resyncIntervalMs > 0) this.#scheduleResync();
    this.#kick(false);
  }

  /**
   * Read the remote routes of ours a previous instance left in the kernel (routes/carried.ts) and
   * keep them desired beside what setDesired says until releaseCarried(). Call it before the first
   * setDesired so that the first pass does not delete them. Resolves with how many were adopted
   * (0: nothing to carry over); throws FELIX_ERR_COMMAND_FAILED when the kernel cannot be read.
   */
  async adoptCarried(): Promise<number> {
    if (this.#stopped) throw new FelixError('FELIX_ERR_STOPPED', 'adoptCarried on a stopped Dataplane');
    const carried = await readCarried(this.#nl, this.families, this.#routes.protocol);
    this.#setCarried(carried.length > 0 ? carried : undefined);
    return carried.length;
  }

  /** Routes adopted by adoptCarried() and not released yet. */
  get carriedCount(): number {
    return this.#carried?.length ?? 0;
  }

  /**
   * Stop keeping the adopted routes: the next pass deletes those setDesired does not want. Hand
   * over the desired state that replaces them first (a pass between the two would delete routes
   * that the next state brings back). Returns how many were released.
   */
  releaseCarried(): number {
    const n = this.carriedCount;
    if (n > 0) this.#setCarried(undefined);
    return n;
  }

  /** Install another adopted set: the routes are compiled again and a pass follows. */
  #setCarried(carried: readonly RouteSpec[] | undefined): void {
    this.#carried = carried;
    const last = this.#compiled;
    if (last === undefined || this.#stopped) return;
    const output: Compiled = { ...last.output, routes: this.#compileRoutes(last.input, carried, last.held) };
    this.#compiled = { ...last, output, carried };
    this.#staged = output;
    this.#kick(false);
  }

  /**
   * The routes of `desired` (its local workloads' included, except those on the `held` interfaces)
   * and the adopted ones beside them.
   */
  #compileRoutes(
    desired: DataplaneDesired,
    carried: readonly RouteSpec[] | undefined,
    held: ReadonlySet<string>,
  ): CompiledRoutes {
    // The local workloads' routes and the others are compiled apart and joined, each part kept
    // while its input is the same object: a pod that comes or goes recompiles only the few
    // workload routes, a route from BGP only the others.
    let local = this.#localRoutes;
    if (local === undefined || local.endpoints !== desired.endpoints || local.held !== held) {
      const endpoints =
        held.size === 0 ? desired.endpoints : desired.endpoints.filter((ep) => !held.has(ep.ifaceName));
      const specs = endpoints.flatMap((ep) => workloadRoutes(ep));
      local = { endpoints: desired.endpoints, held, specs, compiled: this.#routes.compile(specs) };
    }
    let other = this.#otherRoutes;
    if (other === undefined || other.routes !== desired.routes) {
      other = { routes: desired.routes, compiled: this.#routes.compile(desired.routes) };
    }
    const compiled =
      this.#routes.join(local.compiled, other.compiled) ??
      this.#routes.compile([...local.specs, ...desired.routes]);
    // Kept only once the whole set compiled: a part that fails to compile is never kept.
    this.#localRoutes = local;
    this.#otherRoutes = other;
    if (carried === undefined) return compiled;
    const beside = carriedBeside(carried, (key) => compiled.entries.has(key));
    return beside.length === 0
      ? compiled
      : this.#routes.compile([...local.specs, ...desired.routes, ...beside]);
  }

  /** Resolves once no pass is running or pending (after a failure: with the failure in status). */
  async idle(): Promise<DataplaneStatus> {
    while (this.#loop !== undefined) await this.#loop;
    return this.status();
  }

  /** Re-read the kernel and repair drift now (the periodic resync, on demand). */
  async resync(): Promise<DataplaneStatus> {
    if (this.#current !== undefined || this.#staged !== undefined) this.#kick(true);
    return this.idle();
  }

  status(): DataplaneStatus {
    const s = this.#status;
    const routes = this.#routes.summary();
    const routeProblems: DataplaneRouteProblem[] = routes.problems.map(({ route, state, message }) => ({
      family: route.family,
      table: route.table,
      dst: route.dst,
      state: state as DataplaneRouteProblem['state'],
      message: message ?? '',
    }));
    const routesInGrace: DataplaneGraceRoute[] = routes.grace.map(({ route, graceRemainingMs }) => ({
      family: route.family,
      table: route.table,
      dst: route.dst,
      dev: route.nextHops[0]?.dev ?? '',
      remainingMs: graceRemainingMs ?? 0,
    }));
    const cur = this.#current;
    const endpoints = cur?.links.endpoints.size ?? 0;
    const notWired = this.#links.missing;
    const stats = this.#iptables.map((w) => w.stats);
    return {
      ready: this.#applies > 0 && s.inSync,
      inSync: s.inSync,
      applying: this.#loop !== undefined,
      pending: this.#pending,
      stopped: this.#stopped,
      backend: this.#backend,
      applies: this.#applies,
      attempts: s.attempts,
      resyncs: this.#resyncs,
      lastAttemptAt: s.lastAttemptAt,
      lastSuccessAt: s.lastSuccessAt,
      lastDurationMs: s.lastDurationMs,
      lastResyncAt: this.#lastResyncAt,
      consecutiveFailures: s.consecutiveFailures,
      totalFailures: s.totalFailures,
      lastError: s.lastError,
      counts: {
        ...(cur?.counts ?? { chains: 0, rules: 0, ipsets: 0, ipsetMembers: 0 }),
        routes: routes.desired,
        routesProgrammed: routes.programmed,
        routeConflicts: routes.conflicts,
        routeFailures: routes.failed,
        routesInGrace: routesInGrace.length,
        endpoints,
        endpointsWired: endpoints - notWired.length,
        endpointsMissingInterface: this.#held.size,
        remoteVteps: cur?.links.vxlan ? cur.links.vxlan.vteps.length : 0,
      },
      repairs: {
        routes: this.#routes.stats.driftRepaired,
        iptablesChainsWritten: stats.reduce((n, x) => n + x.chainsWritten, 0),
        iptablesJumpsRepaired: stats.reduce((n, x) => n + x.jumpsRepaired, 0),
        ipsetEntriesAdded: this.#ipsets.stats.entriesAdded,
        ipsetEntriesDeleted: this.#ipsets.stats.entriesDeleted,
        links: { ...this.#links.stats },
      },
      io: {
        commands:
          this.#nl.stats.commands +
          stats.reduce((n, x) => n + x.commandsRun, 0) +
          this.#ipsets.stats.commandsRun,
        routeLinesWritten: this.#routes.stats.linesWritten,
        iptablesBytesWritten: stats.reduce((n, x) => n + x.bytesWritten, 0),
        ipsetBytesWritten: this.#ipsets.stats.bytesWritten,
        linkSettingsWritten:
          this.#links.stats.vethSettingsWritten +
          this.#links.stats.fdbWritten +
          this.#links.stats.fdbDeleted +
          this.#links.stats.neighWritten +
          this.#links.stats.neighDeleted,
      },
      endpointsNotWired: notWired,
      endpointsNotProgrammed: [...this.#held.values()].map(({ endpoint: ep, since }) => ({
        id: ep.id,
        namespace: ep.namespace,
        name: ep.name,
        interface: ep.ifaceName,
        reason: `interface ${ep.ifaceName} does not exist: its routes are programmed when it appears`,
        since,
      })),
      routeProblems,
      routesInGrace,
    };
  }

  /** Every desired route with the reason it is there and whether the kernel has it. */
  listRoutes(): DataplaneRoute[] {
    const listed: DataplaneRoute[] = this.#routes
      .list()
      .map(({ route: r, state, message, graceRemainingMs }) => ({
        family: r.family,
        table: r.table,
        dst: r.dst,
        type: r.type,
        nextHops: r.nextHops,
        ...(r.src !== undefined ? { src: r.src } : {}),
        ...(r.mtu !== undefined ? { mtu: r.mtu } : {}),
        reason: r.reason ?? '',
        state,
        ...(message !== undefined ? { message } : {}),
        ...(graceRemainingMs !== undefined ? { graceRemainingMs } : {}),
      }));
    // The held-back routes of endpoints whose interface is missing: wanted, not written.
    for (const { endpoint } of this.#held.values())
      for (const r of workloadRoutes(endpoint))
        listed.push({
          family: r.dst.includes(':') ? 6 : 4,
          table: RT_TABLE_MAIN,
          dst: r.dst,
          type: 'unicast',
          nextHops: [{ dev: endpoint.ifaceName }],
          reason: r.reason ?? '',
          state: 'pending',
          message: `interface ${endpoint.ifaceName} does not exist: programmed when it appears`,
        });
    return listed;
  }

  /**
   * The state listRoutes() gives one desired route, found by its canonical destination and table
   * (main by default) without listing the others; undefined when no route is desired there.
   */
  routeState(dst: string, table = RT_TABLE_MAIN): Pick<DataplaneRoute, 'type' | 'state'> | undefined {
    const r = this.#routes.stateOf(routeKey({ table, dst }));
    return r === undefined ? undefined : { type: r.route.type, state: r.state };
  }

  /** Every rule we program (jumps included) with its origin, and every ipset with its origin. */
  describeRules(): { rules: DataplaneRule[]; ipsets: DataplaneIpset[] } {
    const rules: DataplaneRule[] = [];
    for (const w of this.#iptables) for (const r of w.describe()) rules.push({ family: w.family, ...r });
    const ipsets = this.#ipsets.desired.map((s) => ({
      name: s.name,
      type: s.type,
      family: s.family,
      members: memberCount(s),
      ...(s.origin !== undefined ? { origin: s.origin } : {}),
    }));
    return { rules, ipsets };
  }

  /**
   * Stop applying: timers cleared, a backoff wait cut short, the pass in flight (if any) allowed
   * to finish. The kernel state stays as it is, so traffic keeps flowing across a restart.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of [this.#resyncTimer, this.#retryTimer, this.#graceTimer]) {
      if (timer !== undefined) this.#timers.clearTimeout(timer);
    }
    this.#resyncTimer = undefined;
    this.#retryTimer = undefined;
    this.#graceTimer = undefined;
    for (const s of this.#sleepers) {
      clearTimeout(s.timer);
      s.reject(new FelixError('FELIX_ERR_STOPPED', 'the dataplane was stopped during a retry wait'));
    }
    this.#sleepers.clear();
    this.#monitor?.stop();
    this.#monitor = undefined;
    await this.idle();
  }

  /**
   * Stop, then remove everything Margay owns in this namespace and nothing else: routes with our
   * protocol (every table, both families), `mgy-` chains and our jumps (every table, both families,
   * both backends), `mgy…` ipsets, and the `vxlan.margay` device.
   */
  async cleanup(): Promise<DataplaneCleanupReport> {
    await this.stop();
    const ns = this.netns !== undefined ? { netns: this.netns } : {};
    const ipt = await cleanupAll({ run: this.#run, ...ns });
    const rt = new RouteTable({
      netlink: this.#nl,
      protocol: this.#routes.protocol,
      families: this.families,
      workloadGracePeriodMs: 0, // everything of ours goes, pod routes included
    });
    rt.setDesired([]);
    const r = await rt.resync();
    const linksDeleted = await this.#links.removeOwned();
    return {
      routesDeleted: r.deleted,
      chainsDeleted: ipt.chainsDeleted,
      jumpsRemoved: ipt.jumpsRemoved,
      ipsetsDestroyed: ipt.ipsetsDestroyed,
      linksDeleted,
    };
  }

  // -------------------------------------------------------------------------------------------
  // The apply loop.

  #kick(resync: boolean): void {
    if (this.#stopped) return;
    if (this.#current === undefined && this.#staged === undefined) return; // nothing desired yet
    if (resync) this.#resyncPending = true;
    this.#pending = true;
    this.#loop ??= this.#runLoop().finally(() => {
      this.#loop = undefined;
    });
  }

  async #runLoop(): Promise<void> {
    while (this.#pending && !this.#stopped) {
      this.#pending = false;
      const resync = this.#resyncPending;
      this.#resyncPending = false;
      if (resync) {
        this.#resyncs++;
        this.#lastResyncAt = this.#now();
      }
      try {
        await applyAll(
          {
            ipsets: {
              applyUpdates: async () => {
                await this.#beginPass();
                return this.#ipsets.applyUpdates();
              },
              applyDeletions: () => this.#ipsets.applyDeletions(),
              requestResync: () => this.#ipsets.requestResync(),
            },
            iptables: this.#iptablesParts(),
            links: { apply: () => this.#links.apply(), requestResync: () => this.#links.requestResync() },
            routes: {
              apply: () => {
                this.#holdMissing();
                if (!this.#routesResync) return this.#routes.apply();
                this.#routesResync = false;
                return this.#routes.resync();
              },
              requestResync: () => {
                this.#routesResync = true;
              },
            },
          },
          {
            status: this.#status,
            retry: this.#retry,
            resync,
            now: this.#now,
            sleep: (ms) => this.#sleep(ms),
          },
        );
        this.#applies++;
        // A route the kernel refused did not fail the pass; try it again later all the same.
        if (this.#routes.failedCount > 0 && !this.#pending) this.#scheduleRetry();
        this.#scheduleGraceExpiry();
      } catch {
        // applyAll recorded the failure in #status (step, code, causes). Try again later, unless a
        // change is already waiting (the loop goes round once more).
        if (this.#stopped) break;
        if (!this.#pending) this.#scheduleRetry();
      }
    }
  }

  /** Start of every pass (retries included): backend known, newest staged state handed over. */
  async #beginPass(): Promise<void> {
    if (this.#backend === undefined) {
      this.#backend = (
        await detectBackend({ run: this.#run, ...(this.netns !== undefined ? { netns: this.netns } : {}) })
      ).backend;
    }
    if (this.#iptables.length === 0) {
      for (const f of this.families) {
        const w = new IptablesWriter({
          family: FAMILY_NAMES[f],
          backend: this.#backend,
          run: this.#run,
          ...(this.netns !== undefined ? { netns: this.netns } : {}),
        });
        this.#iptables.push(w);
      }
    }
    const next = this.#staged;
    if (next === undefined) return;
    this.#staged = undefined;
    this.#ipsets.setDesired(next.ipsets);
    for (const w of this.#iptables) w.setDesired(next.iptables[w.family]);
    this.#links.setCompiled(next.links);
    this.#routes.setCompiled(next.routes);
    this.#current = next;
  }

  /**
   * Before the routes step of a pass: hold back the routes of the endpoints whose interface the
   * links step did not find, and let go of those whose interface it found (the routes are compiled
   * again when that changed), tell `onWorkloadInterface`, and run the link watch while any is held.
   */
  #holdMissing(): void {
    const now = this.#now();
    const before = this.#held;
    const held = new Map<string, { readonly endpoint: WorkloadEndpoint; readonly since: number }>();
    for (const endpoint of this.#links.missingEndpoints)
      held.set(endpoint.ifaceName, before.get(endpoint.ifaceName) ?? { endpoint, since: now });
    this.#held = held;
    let moved = held.size !== before.size;
    for (const [iface, h] of held)
      if (!before.has(iface)) {
        moved = true;
        this.#onWorkloadInterface?.({ present: false, endpoint: h.endpoint });
      }
    for (const [iface, h] of before)
      if (!held.has(iface) && this.#links.desired.endpoints.has(iface))
        this.#onWorkloadInterface?.({ present: true, endpoint: h.endpoint });
    if (moved) {
      this.#heldSet = new Set(held.keys());
      const last = this.#compiled;
      if (last !== undefined) {
        const output: Compiled = {
          ...last.output,
          routes: this.#compileRoutes(last.input, last.carried, this.#heldSet),
        };
        this.#compiled = { ...last, output, held: this.#heldSet };
        // The state in force is the last accepted one unless a newer one waits for the next pass:
        // then that one gets the new routes, and this pass keeps the routes it has.
        if (this.#staged !== undefined) this.#staged = output;
        else {
          this.#current = output;
          this.#routes.setCompiled(output.routes);
        }
      }
    }
    this.#watchLinks();
  }

  /** `ip monitor link` while an endpoint's interface is missing: an event naming one starts a pass. */
  #watchLinks(): void {
    if (this.#held.size === 0 || this.#stopped) {
      this.#monitor?.stop();
      this.#monitor = undefined;
      return;
    }
    if (this.#monitor !== undefined) return;
    const monitor = this.#nl.monitor('ip', ['link'], {
      onLine: (line) => {
        for (const iface of this.#held.keys())
          if (line.includes(iface)) {
            this.#kick(false);
            return;
          }
      },
      // An interface made between the links step's read and the start of the watch.
      onStart: () => this.#kick(false),
      // Ended by itself: the next pass that still misses an interface starts another.
      onEnd: () => {
        if (this.#monitor === monitor) this.#monitor = undefined;
      },
    });
    this.#monitor = monitor;
  }

  /** The iptables writers as apply parts; before the first pass they do not exist yet. */
  #iptablesParts(): ApplyPart[] {
    return this.families.map((_, i) => ({
      apply: () => {
        const w = this.#iptables[i]!;
        if (!this.#iptablesResync.has(w)) return w.apply();
        this.#iptablesResync.delete(w);
        return w.resync();
      },
      requestResync: () => {
        const w = this.#iptables[i];
        if (w !== undefined) this.#iptablesResync.add(w);
      },
    }));
  }

  /** A resync pass every resyncIntervalMs from now on, until stop(). */
  #scheduleResync(): void {
    this.#resyncTimer = this.#timers.setTimeout(() => {
      this.#scheduleResync();
      this.#kick(true);
    }, this.#resyncIntervalMs);
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick(false);
    }, this.#retryIntervalMs);
  }

  /** A pass when the first pod route kept for its grace period is due (it deletes the route). */
  #scheduleGraceExpiry(): void {
    if (this.#graceTimer !== undefined) this.#timers.clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    const at = this.#routes.nextGraceExpiry;
    if (at === undefined || this.#stopped) return;
    this.#graceTimer = this.#timers.setTimeout(
      () => {
        this.#graceTimer = undefined;
        this.#kick(false);
      },
      Math.max(0, at - this.#now()),
    );
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#stopped) {
        reject(new FelixError('FELIX_ERR_STOPPED', 'the dataplane was stopped'));
        return;
      }
      const sleeper: Sleeper = {
        timer: setTimeout(() => {
          this.#sleepers.delete(sleeper);
          resolve();
        }, ms),
        reject,
      };
      this.#sleepers.add(sleeper);
    });
  }
}
