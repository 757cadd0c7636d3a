// The route-table reconciler (model: Felix routetable/route_table.go).
//
// Declarative: `setDesired(routes)` hands over the whole set; `apply()` makes the kernel match it;
// `resync()` re-reads the kernel first. It owns exactly the routes carrying its protocol number
// (default 109) in every table, IPv4 and IPv6, and never changes or deletes any other route: reads
// are filtered with `proto N` in the kernel, deletes carry `proto N`, and new keys are written with
// `route add` so a foreign route at the same key is reported as a conflict, not overwritten.
//
// The kernel view is cached (Felix's "dataplane view", view.ts): the first apply reads it, every
// later apply diffs against what the last successful writes left, and `resync()` (called
// periodically by the agent) re-reads to find drift — a route someone deleted, changed or added
// with our protocol. A batch with failed lines makes the view a guess, so the same apply re-reads
// the kernel at once: the reconciler never acts on a guess after an error, and `list()` stays
// exact. When a process itself fails (killed, cannot start, exits without naming lines) — any of
// the up to two per family and phase, see below —, which lines took effect is unknown: the view is
// dropped and the next apply reads, then retries.
//
// One route the kernel rejects never holds up the others (past failure: a remote IPv6 pod CIDR
// `via` an address on no connected subnet, "No route to host", dropped the whole cached view; every
// route, the node's own blackholes included, then listed as `pending` until some later apply
// succeeded, the agent withheld its BGP announcements, and the other nodes lost their routes to
// this node). `-force` already makes ip attempt every line; what is per route is per route here
// too: an add/replace the kernel refuses is a `failed` route carrying the kernel's message, as a
// foreign route at the key is a `conflict`; neither fails the apply, both are retried by the next
// one (the view says they are missing). What is not about one desired route — a delete refused for
// another reason than "already gone", a failure naming no line, the process dying — still throws.
//
// Workload routes not yet desired get a grace period (Felix routetable: routes on interfaces it has
// not been told about are left alone for a while). margay-cni writes a new pod's
// `IP/32 dev mgy… scope link proto 109` at ADD, seconds before the kubelet reports the pod's IP and
// the datastore brings it here (src/cni/wire.ts header). Without a grace period an apply or resync
// in that window sees an owned route it does not want and deletes it, and the new pod is
// unreachable until its IP arrives. So a route of ours whose every next hop is a workload interface
// (`mgy…`) and whose key is not desired is kept until it has been undesired for longer than
// `workloadGracePeriodMs` (default 30 s; 0 = none), measured from the first apply that saw it so;
// `list()` shows it as 'grace' with the time left. When its endpoint arrives in time it is adopted
// with no write; after the period it is deleted like any other stray route (`nextGraceExpiry` tells
// the caller when to apply again). Any other undesired route of ours is deleted at once. An
// endpoint removed while its veth still exists keeps its route up to the grace period too (the CNI
// DEL normally deletes the veth first, and the kernel drops the route with it).
//
// Adoption on start: routes already as desired produce no write (no netlink event, no flap);
// there is no flush.
//
// Order of the writes (family-streams.ts): per family, first the deletes and the routes that need
// no gateway (device routes, blackholes, onlink), then — once those processes have exited — the
// routes with a gateway, which may need a device route of the same apply to reach it; every line
// of one key in one process, in the diff's order. The two families run concurrently.
//
// Speed (the target: installing or removing 100k routes takes within 1.2× of a raw `ip -batch` of
// the same routes). `ip` is the bottleneck (one netlink round trip per line) and our CPU is free
// beside it, so: what must happen before the first line — validating the desired set and reading
// the kernel — is as short as it can be (desired.ts; the read runs in the very process that then
// takes the writes, Netlink.readThenBatch, so a first apply starts one process per family, not
// two); a phase of SPLIT_LINES lines or more goes through two concurrent `ip -batch` processes (ip
// keeps one core busy, so a second process on a free core shortens the apply; family-streams.ts
// says why from that size on); the first phase's lines are streamed into ip as the diff produces
// them (delta.ts, batch-writer.ts); and per route our side allocates little that the garbage
// collector must copy (its pauses stop the stream): no object per op, nothing recorded per written
// route (view.ts), no copy of the lines (route-batch.ts).
import { FelixError } from '../../errors.ts';
import { WORKLOAD_IFACE_PREFIX } from '../../model/endpoints.ts';
import { type CanonicalRoute, MARGAY_RT_PROTO, type RouteSpec } from '../../model/routes.ts';
import { BatchError, type Family, type Netlink } from '../netlink/netlink.ts';
import { type KernelRoute, parseKernelRoutes } from '../netlink/routes-json.ts';
import { isViewUpToDate, routeDeltaSteps } from './delta.ts';
import { compileDesired, type DesiredEntry, DesiredRoutes } from './desired.ts';
import { SPLIT_LINES } from './family-streams.ts';
import { RouteBatch, type RouteConflict } from './route-batch.ts';
import { defaultRoute, isKernelEntries, RouteView, type ViewEntry, viewRoute } from './view.ts';

export type { RouteConflict } from './route-batch.ts';

export interface RouteTableOptions {
  readonly netlink: Netlink;
  /** Routing protocol number marking our routes (default 109 = 0x6d). */
  readonly protocol?: number;
  /** Families to manage (default both). */
  readonly families?: readonly Family[];
  /**
   * How long an undesired route of ours on a workload interface (`mgy…`, written by margay-cni
   * before the endpoint reached the datastore) is left alone before it is deleted (default 30 000
   * ms; 0 = deleted at once, like any other stray route).
   */
  readonly workloadGracePeriodMs?: number;
  /** Clock for the grace period (ms; default Date.now). */
  readonly now?: () => number;
  /**
   * Lines of one phase of one family from which they are written through two concurrent
   * `ip -batch` processes instead of one (default SPLIT_LINES, family-streams.ts; Infinity = never).
   */
  readonly splitLines?: number;
}

export const DEFAULT_WORKLOAD_GRACE_PERIOD_MS = 30_000;

export interface RouteApplyResult {
  readonly added: number;
  readonly replaced: number;
  readonly deleted: number;
  readonly unchanged: number;
  /** Desired routes not written because another protocol holds the key ("File exists"). */
  readonly conflicts: readonly RouteConflict[];
  /** Desired routes the kernel refused for another reason (its message, e.g. "No route to host"). */
  readonly failed: readonly RouteConflict[];
  /** Whether this apply read the kernel (first apply, resync, or after a failure). */
  readonly didRead: boolean;
}

export interface RouteTableStats {
  /** Processes run (reads and batches). */
  commands: number;
  /** Route lines written. */
  linesWritten: number;
  bytesWritten: number;
  applies: number;
  reads: number;
  /** Duration of the last apply, including its read if any. */
  lastApplyMs: number;
  lastReadMs: number;
  /** Routes deleted or replaced because they had drifted, found by a resync. */
  driftRepaired: number;
  failures: number;
}

/** A validated desired set (see RouteTable.compile, desired.ts). */
export interface CompiledRoutes {
  readonly protocol: number;
  readonly entries: DesiredRoutes;
}

export type ListedRouteState = 'programmed' | 'pending' | 'conflict' | 'failed' | 'grace';

export interface ListedRoute {
  readonly route: CanonicalRoute;
  /**
   * 'programmed' when the kernel has it as desired (last apply or read); 'pending' before the first
   * write; 'conflict' when a foreign route holds its key; 'failed' when the kernel refused it;
   * 'grace' for a route in the kernel that is NOT desired but kept for the workload grace period
   * (a pod route margay-cni wrote before its endpoint arrived).
   */
  readonly state: ListedRouteState;
  /** For 'conflict' and 'failed': what the kernel said at the last attempt; for 'grace': why it is kept. */
  readonly message?: string;
  /** For 'grace': ms left before it is deleted unless its endpoint arrives. */
  readonly graceRemainingMs?: number;
}

/** list() counted by state. */
function summaryOfList(listed: readonly ListedRoute[]): RouteSummary {
  let desired = 0;
  let programmed = 0;
  let conflicts = 0;
  let failed = 0;
  const problems: ListedRoute[] = [];
  const grace: ListedRoute[] = [];
  for (const r of listed) {
    if (r.state === 'grace') {
      grace.push(r);
      continue;
    }
    desired++;
    if (r.state === 'programmed') programmed++;
    else if (r.state === 'conflict') conflicts++;
    else if (r.state === 'failed') failed++;
    if (r.state === 'conflict' || r.state === 'failed') problems.push(r);
  }
  return { desired, programmed, conflicts, failed, problems, grace };
}

/** Whether a route goes only through workload interfaces (a pod route). */
function isWorkloadCanonical(c: CanonicalRoute | undefined): boolean {
  if (c === undefined || c.type !== 'unicast' || c.nextHops.length === 0) return false;
  for (const h of c.nextHops)
    if (h.dev === undefined || !h.dev.startsWith(WORKLOAD_IFACE_PREFIX)) return false;
  return true;
}

/** Whether a kernel route of ours goes only through workload interfaces (a pod route). */
export function isWorkloadRoute(r: KernelRoute): boolean {
  return isWorkloadCanonical(r.canonical);
}

/** Whether everything the view holds at a key is a pod route. */
function isWorkloadEntry(e: ViewEntry): boolean {
  return isKernelEntries(e) ? e.every(isWorkloadRoute) : isWorkloadCanonical(e.route);
}

/** RouteTable.summary(): list() counted by state. */
export interface RouteSummary {
  /** Desired routes (the listed ones not in their grace period). */
  readonly desired: number;
  readonly programmed: number;
  readonly conflicts: number;
  readonly failed: number;
  /** The routes in conflict or refused, in list() order. */
  readonly problems: readonly ListedRoute[];
  /** The undesired pod routes kept for their grace period. */
  readonly grace: readonly ListedRoute[];
}

export class RouteTable {
  readonly protocol: number;
  readonly families: readonly Family[];
  readonly stats: RouteTableStats = {
    commands: 0,
    linesWritten: 0,
    bytesWritten: 0,
    applies: 0,
    reads: 0,
    lastApplyMs: 0,
    lastReadMs: 0,
    driftRepaired: 0,
    failures: 0,
  };
  readonly #nl: Netlink;
  #desired = DesiredRoutes.empty();
  /** Our routes in the kernel by key (view.ts); undefined = unknown (read before the next diff). */
  #view: RouteView | undefined;
  #conflicts = new Map<string, RouteConflict>();
  #failed = new Map<string, RouteConflict>();
  #applying = false;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #splitLines: number;
  /** Undesired workload routes by key: when an apply first saw them undesired. */
  #graceSince = new Map<string, number>();
  /** The last list() and what it was made from. */
  #lastList:
    | {
        readonly desired: DesiredRoutes;
        readonly view: RouteView | undefined;
        readonly conflicts: ReadonlyMap<string, RouteConflict>;
        readonly failed: ReadonlyMap<string, RouteConflict>;
        readonly list: readonly ListedRoute[];
      }
    | undefined;
  /**
   * The desired set that the last apply left wholly in the kernel (every line went in, nothing
   * refused); undefined after a failure, a re-read or a dropped view.
   */
  #programmed: DesiredRoutes | undefined;

  constructor(opts: RouteTableOptions) {
    this.#nl = opts.netlink;
    this.#graceMs = opts.workloadGracePeriodMs ?? DEFAULT_WORKLOAD_GRACE_PERIOD_MS;
    if (!Number.isFinite(this.#graceMs) || this.#graceMs < 0) {
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid workload grace period ${this.#graceMs} ms`);
    }
    this.#now = opts.now ?? Date.now;
    this.#splitLines = opts.splitLines ?? SPLIT_LINES;
    if (!(this.#splitLines >= 1)) {
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid split threshold ${this.#splitLines} lines`);
    }
    this.protocol = opts.protocol ?? MARGAY_RT_PROTO;
    if (!Number.isInteger(this.protocol) || this.protocol < 1 || this.protocol > 255) {
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid route protocol ${this.protocol}`);
    }
    this.families = opts.families ?? [4, 6];
  }

  /**
   * Replace the desired set. Validates everything first (FELIX_ERR_INVALID_ROUTE, the previous set
   * stays in force); two different routes for one table/prefix are an error, identical ones merge.
   */
  setDesired(routes: readonly RouteSpec[]): void {
    this.setCompiled(this.compile(routes));
  }

  /**
   * Validate a desired set without installing it (the agent validates a whole desired state before
   * any part of it is handed over, and hands it over only between two applies).
   */
  compile(routes: readonly RouteSpec[]): CompiledRoutes {
    return { protocol: this.protocol, entries: compileDesired(routes, this.families) };
  }

  /**
   * The routes of `a` then those of `b` (both made by `compile` of this table), as `compile` of
   * both lists would give them; undefined when a key is in both (compile both lists instead).
   */
  join(a: CompiledRoutes, b: CompiledRoutes): CompiledRoutes | undefined {
    if (a.protocol !== this.protocol || b.protocol !== this.protocol) {
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', 'routes compiled for another route table');
    }
    const entries = DesiredRoutes.join(a.entries, b.entries);
    return entries === undefined ? undefined : { protocol: this.protocol, entries };
  }

  /** Install a set made by `compile` (of this table). */
  setCompiled(compiled: CompiledRoutes): void {
    if (compiled.protocol !== this.protocol) {
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', 'routes compiled for another route table');
    }
    this.#desired = compiled.entries;
  }

  /** Number of desired routes. */
  get desiredCount(): number {
    return this.#desired.size;
  }

  /**
   * The desired routes with their reasons and state, for the REST API. The list is kept and
   * handed out again while the desired routes, the view of the kernel and the refusal marks are
   * the same objects and no route is in its grace period (whose time left changes by itself):
   * status polls and readiness probes between passes then cost no walk of every route.
   */
  list(): readonly ListedRoute[] {
    const cached = this.#lastList;
    if (
      cached !== undefined &&
      cached.desired === this.#desired &&
      cached.view === this.#view &&
      cached.conflicts === this.#conflicts &&
      cached.failed === this.#failed &&
      this.#graceSince.size === 0
    )
      return cached.list;
    const list = this.#list();
    this.#lastList = {
      desired: this.#desired,
      view: this.#view,
      conflicts: this.#conflicts,
      failed: this.#failed,
      list,
    };
    return list;
  }

  /**
   * What list() says, counted: by state, with the routes that are not programmed. After an apply
   * that put every desired route in, that is known without looking at any route; between a new
   * desired set and its apply, the routes are compared with the view of the kernel as the next
   * diff compares them, slot by slot, so that a plain route needs no entry object (the status API
   * and the readiness probe ask on every poll, and a listing builds an object per route for every
   * new desired set, which then lives until the next one).
   */
  summary(): RouteSummary {
    const desired = this.#desired;
    const view = this.#view;
    if (view === undefined || this.#graceSince.size > 0) return summaryOfList(this.list());
    const n = desired.size;
    if (this.#programmed === desired) {
      return { desired: n, programmed: n, conflicts: 0, failed: 0, problems: [], grace: [] };
    }
    const problems: ListedRoute[] = [];
    let conflicts = 0;
    let failed = 0;
    const notProgrammed = (i: number): void => {
      const key = desired.keyAt(i);
      const conflict = this.#conflicts.get(key);
      const refused = conflict === undefined ? this.#failed.get(key) : undefined;
      if (conflict !== undefined) conflicts++;
      else if (refused !== undefined) failed++;
      else return;
      const state = conflict !== undefined ? 'conflict' : 'failed';
      const message = (conflict ?? refused)!.message;
      problems.push({ route: desired.entry(i).route, state, message });
    };
    const sink = { add: notProgrammed, replace: notProgrammed, del: () => {}, delWritten: () => {} };
    const counter = { unchanged: 0 };
    for (const _ of routeDeltaSteps(desired, view, sink, counter));
    return { desired: n, programmed: counter.unchanged, conflicts, failed, problems, grace: [] };
  }

  #list(): readonly ListedRoute[] {
    const out: ListedRoute[] = [];
    const view = this.#view;
    for (let i = 0; i < this.#desired.size; i++) out.push(this.#listed(this.#desired.entry(i)));
    const now = this.#now();
    for (const [key, since] of this.#graceSince) {
      const have = this.#desired.has(key) ? undefined : viewRoute(view?.get(key));
      if (have === undefined) continue;
      const remaining = Math.max(0, since + this.#graceMs - now);
      const dev = have.nextHops[0]?.dev ?? '';
      const period = `workload grace period ${this.#graceMs / 1000} s`;
      out.push({
        route: {
          ...have,
          reason: `pod route on ${dev}, not desired: its endpoint is not known (yet)`,
        },
        state: 'grace',
        message:
          remaining > 0
            ? `kept ${Math.ceil(remaining / 1000)} s more (${period}) in case its endpoint arrives, then deleted`
            : `${period} over: deleted by the next apply`,
        graceRemainingMs: remaining,
      });
    }
    return out;
  }

  /** The desired route at `key` (routeKey) as list() shows it; undefined when none is desired there. */
  stateOf(key: string): ListedRoute | undefined {
    const e = this.#desired.get(key);
    return e === undefined ? undefined : this.#listed(e);
  }

  #listed(e: DesiredEntry): ListedRoute {
    const key = e.key;
    const view = this.#view;
    const have = view === undefined ? undefined : defaultRoute(view.get(key));
    if (have !== undefined && isViewUpToDate(e, have)) return { route: e.route, state: 'programmed' };
    const conflict = this.#conflicts.get(key);
    if (conflict !== undefined) return { route: e.route, state: 'conflict', message: conflict.message };
    const failed = this.#failed.get(key);
    if (failed !== undefined) return { route: e.route, state: 'failed', message: failed.message };
    return { route: e.route, state: 'pending' };
  }

  /**
   * When (clock of `now`) the first undesired workload route kept for its grace period is due for
   * deletion, i.e. when an apply will delete it; undefined when none is kept.
   */
  get nextGraceExpiry(): number | undefined {
    let at: number | undefined;
    for (const [key, since] of this.#graceSince) {
      if (this.#desired.has(key) || this.#view?.has(key) !== true) continue;
      const t = since + this.#graceMs + 1; // deleted once undesired for longer than the period
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /** Desired routes the kernel refused at the last attempt (not conflicts). */
  get failedCount(): number {
    let n = 0;
    for (const key of this.#failed.keys()) if (this.#desired.has(key)) n++;
    return n;
  }

  /** Forget the cached kernel view and apply: finds and repairs drift. */
  async resync(): Promise<RouteApplyResult> {
    this.#view = undefined;
    return this.apply(true);
  }

  /**
   * Make the kernel match the desired set. Every line is attempted; routes the kernel refuses are
   * in `conflicts`/`failed` (and `list()`), not thrown. Throws a BatchError (FELIX_ERR_BATCH_FAILED)
   * naming the lines that are not about one desired route (a refused delete), after all of them
   * were attempted and the view re-read; throws FELIX_ERR_COMMAND_FAILED when any batch process
   * failed as a whole (the view is then unknown: the next apply reads and retries).
   */
  async apply(isResync = false): Promise<RouteApplyResult> {
    if (this.#applying) throw new FelixError('FELIX_ERR_APPLY_FAILED', 'RouteTable.apply is already running');
    this.#applying = true;
    const t0 = performance.now();
    const batch = new RouteBatch({
      netlink: this.#nl,
      protocol: this.protocol,
      stats: this.stats,
      splitLines: this.#splitLines,
    });
    try {
      let didRead = false;
      if (this.#view === undefined) {
        // Each family is read in the process that then writes its lines (route-batch.ts).
        this.#view = RouteView.fromKernel(await this.#read((f) => batch.read(f)));
        didRead = true;
      }
      const { result, unchanged } = await this.#write(batch, this.#desired, this.#view, this.#now());
      // A kept route deleted by this apply (its period over) is forgotten: if it comes back (a new
      // sandbox with the same IP), it gets a period of its own.
      const view = this.#view;
      if (view !== undefined)
        for (const key of this.#graceSince.keys()) if (!view.has(key)) this.#graceSince.delete(key);
      if (isResync) this.stats.driftRepaired += result.replaced + result.deleted + result.added;
      this.stats.applies++;
      return { ...result, unchanged, didRead };
    } finally {
      // Whatever went wrong, no batch process is left waiting for lines: after batch.finish() this
      // only waits for it; before (the read or the diff threw), it ends every process at once.
      await batch.close();
      this.stats.lastApplyMs = performance.now() - t0;
      this.#applying = false;
    }
  }

  /**
   * Our routes in the kernel, every family, grouped by key. `readFamily` runs the read of one
   * family (default: a command of its own, for the re-read after refused lines).
   */
  async #read(readFamily?: (f: Family) => Promise<unknown[]>): Promise<Map<string, KernelRoute[]>> {
    const t0 = performance.now();
    // Every family's read settles before a failure is thrown: the caller then closes every
    // process that a read left open for writing.
    const settled = await Promise.allSettled(
      this.families.map(async (f) => {
        let json: unknown[];
        if (readFamily !== undefined) {
          json = await readFamily(f);
        } else {
          this.stats.commands++;
          json = await this.#nl.read(
            'ip',
            ['-N', '-d', 'route', 'show', 'table', 'all', 'proto', String(this.protocol)],
            f,
          );
        }
        return parseKernelRoutes(json, f, this.protocol);
      }),
    );
    const lists = settled.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
    const out = new Map<string, KernelRoute[]>();
    for (const list of lists) {
      for (const r of list) {
        const prev = out.get(r.key);
        if (prev) prev.push(r);
        else out.set(r.key, [r]);
      }
    }
    this.stats.reads++;
    this.stats.lastReadMs = performance.now() - t0;
    return out;
  }

  /**
   * Write the diff from `view` to `desired` through `-force -batch` processes per family
   * (route-batch.ts, family-streams.ts: two phases of one or two processes each; the process that
   * read the family when this apply read takes the first lines, and an apply from the cached view
   * with nothing to do runs no process), then account for
   * every refused line: tolerated failures are fine, conflicts and refused routes are reported,
   * anything else is thrown after all lines were tried. The workload grace clock of every
   * undesired pod route is carried over (or started) as the diff meets it.
   *
   * The view becomes the desired set just written only when every line went in (view.ts: nothing
   * is recorded per line). After any refused line it is re-read here (a refused replace may have
   * left the old route, an IPv6 multipath add may be partial), and when any process failed it is
   * dropped (next apply reads).
   */
  async #write(
    batch: RouteBatch,
    desired: DesiredRoutes,
    view: RouteView,
    now: number,
  ): Promise<{ result: Omit<RouteApplyResult, 'unchanged' | 'didRead'>; unchanged: number }> {
    const since = new Map<string, number>();
    /** Keys kept for their grace period that only `view.written` holds. */
    const keptWritten: string[] = [];
    const keep = (key: string, have: ViewEntry): boolean => {
      if (this.#graceMs === 0 || !isWorkloadEntry(have)) return false;
      const t = this.#graceSince.get(key) ?? now;
      since.set(key, t);
      if (now - t > this.#graceMs) return false;
      if (!isKernelEntries(have)) keptWritten.push(key);
      return true;
    };
    const counter = { unchanged: 0 };
    batch.plan(desired, view.written);
    for (const _ of routeDeltaSteps(desired, view, batch, counter, keep)) await batch.flush();
    this.#graceSince = since;
    const r = await batch.finish();
    const { conflicts, failed, errors } = r;
    const result = { added: r.added, replaced: r.replaced, deleted: r.deleted, conflicts, failed };
    // Every apply retries what was refused (the view says it is missing), so the marks are
    // recomputed from scratch by each batch: a key that stays refused keeps its mark, a key that
    // went in loses it, and a key no longer desired is not listed anyway.
    this.#conflicts = new Map(conflicts.map((c) => [c.key, c]));
    this.#failed = new Map(failed.map((c) => [c.key, c]));
    this.#programmed = undefined;
    if (r.processError !== undefined) {
      this.#view = undefined;
      this.stats.failures++;
      throw r.processError;
    }
    if (conflicts.length > 0 || failed.length > 0 || errors.length > 0) {
      // Some lines did not do what was written: read what the kernel really has, now, so the next
      // diff and list() work from facts. If the read fails, the view stays unknown (next apply reads).
      this.#view = undefined;
      this.#view = RouteView.fromKernel(await this.#read());
    } else if (
      this.#view === view &&
      (view.written !== desired || !batch.isEmpty || keptWritten.length > 0)
    ) {
      // (A resync() requested while this apply ran dropped the view: the next apply reads.)
      const other = view.other;
      batch.recordInto(other);
      for (const key of keptWritten) {
        const e = view.written?.get(key);
        if (e !== undefined && !other.has(key)) other.set(key, e);
      }
      this.#view = new RouteView(desired, other);
    }
    // Every line went in and the diff found the rest up to date: every desired route is programmed
    // (unless a resync dropped the view meanwhile, which summary() checks).
    if (conflicts.length === 0 && failed.length === 0 && errors.length === 0) this.#programmed = desired;
    if (failed.length > 0 || errors.length > 0) this.stats.failures++;
    if (errors.length > 0) throw new BatchError(`route table (proto ${this.protocol})`, errors);
    return { result, unchanged: counter.unchanged };
  }
}
