// The route-table reconciler (DESIGN.md "Routing model"; model: Felix routetable/route_table.go).
//
// Declarative: `setDesired(routes)` hands over the whole set; `apply()` makes the kernel match it;
// `resync()` re-reads the kernel first. It owns exactly the routes carrying its protocol number
// (default 109) in every table, IPv4 and IPv6, and never changes or deletes any other route: reads
// are filtered with `proto N` in the kernel, deletes carry `proto N`, and new keys are written with
// `route add` so a foreign route at the same key is reported as a conflict, not overwritten.
//
// The kernel view is cached (Felix's "dataplane view"): the first apply reads it, every later
// apply diffs against what the last successful writes left, and `resync()` (called periodically by
// the agent) re-reads to find drift — a route someone deleted, changed or added with our protocol.
// A batch with failed lines makes the view a guess, so the same apply re-reads the kernel at once:
// the reconciler never acts on a guess after an error, and `list()` stays exact.
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
// Workload routes not yet desired get a grace period (Felix routetable: routes on interfaces it
// has not been told about are left alone for a while). margay-cni writes a new pod's
// `IP/32 dev mgy… scope link proto 109` at ADD, seconds before the kubelet reports the pod's IP
// and the datastore brings it here (src/cni/wire.ts header). Past failure: an apply or resync in
// that window saw an owned route it did not want and deleted it, and the new pod was unreachable
// until its IP arrived. So a route of ours whose every next hop is a workload interface (`mgy…`)
// and whose key is not desired is kept until it has been undesired for longer than
// `workloadGracePeriodMs` (default 30 s; 0 = none), measured from the first apply that saw it so;
// `list()` shows it as 'grace' with the time left. When its endpoint arrives in time it is adopted
// with no write; after the period it is deleted like any other stray route (`nextGraceExpiry`
// tells the caller when to apply again). Any other undesired route of ours is deleted at once.
// An endpoint removed while its veth still exists keeps its route up to the grace period too (the
// CNI DEL normally deletes the veth first, and the kernel drops the route with it).
//
// Adoption on start: routes already as desired produce no write (no netlink event, no flap);
// there is no flush. Writes per family go through one `ip -4|-6 -force -batch -` each, deletes
// first, run concurrently for the two families.
import { FelixError } from '../../errors.ts';
import { WORKLOAD_IFACE_PREFIX } from '../../model/endpoints.ts';
import { type CanonicalRoute, canonicalRoute, MARGAY_RT_PROTO, type RouteSpec } from '../../model/routes.ts';
import {
  BatchError,
  type BatchFailure,
  type BatchWriter,
  type Family,
  type Netlink,
} from '../netlink/netlink.ts';
import { defaultMetric, type KernelRoute, parseKernelRoutes } from '../netlink/routes-json.ts';
import {
  atDefaultMetric,
  type DesiredEntry,
  desiredEntry,
  isUpToDate,
  type RouteOp,
  routeDeltaOps,
} from './delta.ts';

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
}

export const DEFAULT_WORKLOAD_GRACE_PERIOD_MS = 30_000;

export interface RouteConflict {
  readonly key: string;
  readonly dst: string;
  readonly table: number;
  readonly message: string;
}

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

/** A validated desired set (see RouteTable.compile). */
export interface CompiledRoutes {
  readonly protocol: number;
  readonly entries: ReadonlyMap<string, DesiredEntry>;
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

/** Whether a kernel route of ours goes only through workload interfaces (a pod route). */
export function isWorkloadRoute(r: KernelRoute): boolean {
  const c = r.canonical;
  if (c === undefined || c.type !== 'unicast' || c.nextHops.length === 0) return false;
  for (const h of c.nextHops)
    if (h.dev === undefined || !h.dev.startsWith(WORKLOAD_IFACE_PREFIX)) return false;
  return true;
}

const ESRCH = /No such process|No such file or directory/;
const EEXIST = /File exists/;

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
  #desired: ReadonlyMap<string, DesiredEntry> = new Map<string, DesiredEntry>();
  /** Our routes in the kernel by key; undefined = unknown (read before the next diff). */
  #actual: Map<string, KernelRoute[]> | undefined;
  #conflicts = new Map<string, RouteConflict>();
  #failed = new Map<string, RouteConflict>();
  #applying = false;
  readonly #graceMs: number;
  readonly #now: () => number;
  /** Undesired workload routes by key: when an apply first saw them undesired. */
  #graceSince = new Map<string, number>();

  constructor(opts: RouteTableOptions) {
    this.#nl = opts.netlink;
    this.#graceMs = opts.workloadGracePeriodMs ?? DEFAULT_WORKLOAD_GRACE_PERIOD_MS;
    if (!Number.isFinite(this.#graceMs) || this.#graceMs < 0) {
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid workload grace period ${this.#graceMs} ms`);
    }
    this.#now = opts.now ?? Date.now;
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
    const next = new Map<string, DesiredEntry>();
    for (const spec of routes) {
      const r = canonicalRoute(spec);
      if (!this.families.includes(r.family)) {
        throw new FelixError('FELIX_ERR_INVALID_ROUTE', `route ${r.dst}: IPv${r.family} is not managed here`);
      }
      const key = `${r.family}|${r.table}|${r.dst}`;
      const e = desiredEntry(r);
      const prev = next.get(key);
      if (prev !== undefined && (prev.body !== e.body || prev.route.type !== e.route.type)) {
        throw new FelixError(
          'FELIX_ERR_INVALID_ROUTE',
          `two different routes for ${r.dst} in table ${r.table}: "${prev.route.reason ?? ''}" and "${r.reason ?? ''}"`,
        );
      }
      next.set(key, e);
    }
    return { protocol: this.protocol, entries: next };
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

  /** The desired routes with their reasons and state, for the REST API. */
  list(): ListedRoute[] {
    const out: ListedRoute[] = [];
    for (const [key, e] of this.#desired) {
      const have = atDefaultMetric(this.#actual?.get(key));
      if (have !== undefined && isUpToDate(e, have)) {
        out.push({ route: e.route, state: 'programmed' });
        continue;
      }
      const conflict = this.#conflicts.get(key);
      const failed = conflict === undefined ? this.#failed.get(key) : undefined;
      if (conflict !== undefined) out.push({ route: e.route, state: 'conflict', message: conflict.message });
      else if (failed !== undefined) out.push({ route: e.route, state: 'failed', message: failed.message });
      else out.push({ route: e.route, state: 'pending' });
    }
    const now = this.#now();
    for (const [key, since] of this.#graceSince) {
      const entries = this.#actual?.get(key);
      const have = entries === undefined ? undefined : (atDefaultMetric(entries) ?? entries[0]);
      if (this.#desired.has(key) || have?.canonical === undefined) continue;
      const remaining = Math.max(0, since + this.#graceMs - now);
      const dev = have.canonical.nextHops[0]?.dev ?? '';
      const period = `workload grace period ${this.#graceMs / 1000} s`;
      out.push({
        route: {
          ...have.canonical,
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

  /**
   * When (clock of `now`) the first undesired workload route kept for its grace period is due for
   * deletion, i.e. when an apply will delete it; undefined when none is kept.
   */
  get nextGraceExpiry(): number | undefined {
    let at: number | undefined;
    for (const [key, since] of this.#graceSince) {
      if (this.#desired.has(key) || this.#actual?.has(key) !== true) continue;
      const t = since + this.#graceMs + 1; // deleted once undesired for longer than the period
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /**
   * The keys to leave alone this apply: undesired keys whose routes all go through workload
   * interfaces and which have been undesired for at most the grace period. Restarts the clock of
   * nothing: a key keeps its first-seen time while it stays undesired and in the kernel.
   */
  #keysInGrace(actual: ReadonlyMap<string, readonly KernelRoute[]>, now: number): Set<string> {
    const keep = new Set<string>();
    const since = new Map<string, number>();
    if (this.#graceMs > 0) {
      for (const [key, entries] of actual) {
        if (this.#desired.has(key) || !entries.every(isWorkloadRoute)) continue;
        const t = this.#graceSince.get(key) ?? now;
        since.set(key, t);
        if (now - t <= this.#graceMs) keep.add(key);
      }
    }
    this.#graceSince = since;
    return keep;
  }

  /** Desired routes the kernel refused at the last attempt (not conflicts). */
  get failedCount(): number {
    let n = 0;
    for (const key of this.#failed.keys()) if (this.#desired.has(key)) n++;
    return n;
  }

  /** Forget the cached kernel view and apply: finds and repairs drift. */
  async resync(): Promise<RouteApplyResult> {
    this.#actual = undefined;
    return this.apply(true);
  }

  /**
   * Make the kernel match the desired set. Every line is attempted; routes the kernel refuses are
   * in `conflicts`/`failed` (and `list()`), not thrown. Throws a BatchError (FELIX_ERR_BATCH_FAILED)
   * naming the lines that are not about one desired route (a refused delete), after all of them
   * were attempted and the view re-read.
   */
  async apply(isResync = false): Promise<RouteApplyResult> {
    if (this.#applying) throw new FelixError('FELIX_ERR_APPLY_FAILED', 'RouteTable.apply is already running');
    this.#applying = true;
    const t0 = performance.now();
    try {
      let didRead = false;
      if (this.#actual === undefined) {
        this.#actual = await this.#read();
        didRead = true;
      }
      const actual = this.#actual;
      const counter = { unchanged: 0 };
      const keep = this.#keysInGrace(actual, this.#now());
      const result = await this.#write(
        routeDeltaOps(this.#desired, actual, this.protocol, counter, keep),
        actual,
      );
      // A kept route deleted by this apply (its period over) is forgotten: if it comes back (a new
      // sandbox with the same IP), it gets a period of its own.
      const view = this.#actual;
      if (view !== undefined)
        for (const key of this.#graceSince.keys()) if (!view.has(key)) this.#graceSince.delete(key);
      if (isResync) this.stats.driftRepaired += result.replaced + result.deleted + result.added;
      this.stats.applies++;
      return { ...result, unchanged: counter.unchanged, didRead };
    } finally {
      this.stats.lastApplyMs = performance.now() - t0;
      this.#applying = false;
    }
  }

  async #read(): Promise<Map<string, KernelRoute[]>> {
    const t0 = performance.now();
    const lists = await Promise.all(
      this.families.map(async (f) => {
        this.stats.commands++;
        const json = await this.#nl.read(
          'ip',
          ['-N', '-d', 'route', 'show', 'table', 'all', 'proto', String(this.protocol)],
          f,
        );
        return parseKernelRoutes(json, f, this.protocol);
      }),
    );
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
   * Stream the ops into one `-force -batch` per family (started lazily, so a no-op apply runs no
   * process), then account for every failed line: tolerated failures are fine, conflicts and
   * refused routes are reported, anything else is thrown after all lines were tried.
   *
   * The cached view is updated while the lines stream (optimistically: each op recorded as done
   * right after it is handed to ip), so that bookkeeping overlaps with the kernel's work instead
   * of following it (100k routes: ~40 ms less). This is exact, not a guess: the only failure that
   * keeps the view is a delete of a route already gone, which is what was recorded; after any
   * other failed line the view is re-read here (a refused replace may have left the old route, an
   * IPv6 multipath add may be partial), and when the process died it is dropped (next apply reads).
   */
  async #write(
    ops: Iterable<RouteOp>,
    actual: Map<string, KernelRoute[]>,
  ): Promise<Omit<RouteApplyResult, 'unchanged' | 'didRead'>> {
    const writers = new Map<Family, { w: BatchWriter; ops: RouteOp[] }>();
    const counts = { added: 0, replaced: 0, deleted: 0 };
    let n = 0;
    for (const op of ops) {
      let slot = writers.get(op.family);
      if (slot === undefined) {
        slot = { w: this.#nl.openBatch('ip', op.family), ops: [] };
        writers.set(op.family, slot);
        this.stats.commands++;
      }
      slot.w.push(op.line);
      slot.ops.push(op);
      this.#record(op, actual);
      counts[op.kind === 'add' ? 'added' : op.kind === 'replace' ? 'replaced' : 'deleted']++;
      this.stats.linesWritten++;
      this.stats.bytesWritten += op.line.length + 1;
      if (++n % 1024 === 0) await slot.w.flush();
    }
    const errors: BatchFailure[] = [];
    const conflicts: RouteConflict[] = [];
    const failed: RouteConflict[] = [];
    const results = await Promise.allSettled(
      [...writers.values()].map(async (slot) => ({ slot, r: await slot.w.close() })),
    );
    let processError: unknown;
    for (const settled of results) {
      if (settled.status === 'rejected') {
        processError ??= settled.reason;
        continue;
      }
      const { slot, r } = settled.value;
      for (const f of r.failures) {
        const op = slot.ops[f.line - 1];
        if (op === undefined) {
          errors.push(f);
          continue;
        }
        if (op.kind === 'del' && ESRCH.test(f.message)) continue; // already gone: the goal is reached
        counts[op.kind === 'add' ? 'added' : op.kind === 'replace' ? 'replaced' : 'deleted']--;
        if (op.entry === undefined) {
          errors.push(f);
          continue;
        }
        const r0 = op.entry.route;
        const problem = { key: op.key, dst: r0.dst, table: r0.table, message: f.message };
        if (op.kind === 'add' && EEXIST.test(f.message)) conflicts.push(problem);
        else failed.push(problem);
      }
    }
    // Every apply retries what was refused (the view says it is missing), so the marks are
    // recomputed from scratch by each batch: a key that stays refused keeps its mark, a key that
    // went in loses it, and a key no longer desired is not listed anyway.
    this.#conflicts = new Map(conflicts.map((c) => [c.key, c]));
    this.#failed = new Map(failed.map((c) => [c.key, c]));
    if (processError !== undefined) {
      this.#actual = undefined;
      this.stats.failures++;
      throw processError;
    }
    if (conflicts.length > 0 || failed.length > 0 || errors.length > 0) {
      // Some lines did not do what was recorded: read what the kernel really has, now, so the next
      // diff and list() work from facts. If the read fails, the view stays unknown (next apply reads).
      this.#actual = undefined;
      this.#actual = await this.#read();
    }
    if (failed.length > 0 || errors.length > 0) this.stats.failures++;
    if (errors.length > 0) throw new BatchError(`route table (proto ${this.protocol})`, errors);
    return { ...counts, conflicts, failed };
  }

  #record(op: RouteOp, actual: Map<string, KernelRoute[]>): void {
    if (op.kind === 'del') {
      const rest = (actual.get(op.key) ?? []).filter((e) => e.metric !== op.metric);
      if (rest.length === 0) actual.delete(op.key);
      else actual.set(op.key, rest);
      return;
    }
    const e = op.entry!;
    const r = e.route;
    const kr: KernelRoute = {
      family: r.family,
      table: r.table,
      dst: r.dst,
      metric: defaultMetric(r.family),
      typeName: r.type,
      key: op.key,
      canonical: r,
      body: e.body,
      protocol: String(this.protocol),
    };
    const prev = actual.get(op.key);
    if (prev === undefined) {
      actual.set(op.key, [kr]);
      return;
    }
    const rest = prev.filter((e) => e.metric !== kr.metric);
    actual.set(op.key, [...rest, kr]);
  }
}
