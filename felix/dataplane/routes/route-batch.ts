// One apply's writes (route-table.ts): the diff's ops (delta.ts, RouteDeltaSink) rendered into
// `ip -4|-6 -force -batch -` processes per family, and afterwards every refused line accounted for.
//
// Which process a line goes to, and when, is family-streams.ts (its header: two phases — deletes
// and routes needing no gateway, then routes with a gateway once the first phase is done —, each
// split over two concurrent processes from SPLIT_LINES lines on). Here each line gets its phase and
// its lane, both functions of its key, so that every line of one key goes to one process in the
// diff's order: a key with a desired route takes the phase of that route (needsGateway) and the
// parity of its desired slot; a key only deleted takes the parity of its written slot, or a hash
// of the key for a route as read (no string is hashed per desired or written route: the strings a
// 100k desired set keeps are not flattened, desired.ts).
//
// Per line only what naming a refused line needs is kept — its kind and what it is about: a slot
// of the desired or written set (desired.ts: a plain route has no entry object until one is
// needed) or a route as read (two array slots; no op object, no copy of the text: the line is
// rendered when it is handed to its process, and again when a failure names it). The line numbers
// ip reports are per process, and so are the records. A refused line is:
// - a delete of a route already gone ("No such process"): the goal is reached, not a failure;
// - an add refused with "File exists": a foreign route holds the key, a `conflict`;
// - any other refused add/replace: a `failed` route with the kernel's message;
// - any other refused delete, or a failure naming no line of ours: an error the apply throws.
// A process that failed as a whole (batch-writer.ts: killed, cannot start, exit status naming no
// line) leaves its lines unknown, and a family whose first phase had one does not write its second:
// `processError`, and the caller drops its view (the next apply reads and retries).
import type { BatchFailure, Family, Netlink } from '../netlink/netlink.ts';
import { defaultMetric } from '../netlink/routes-json.ts';
import { type RouteDeltaSink, renderViewDeleteLine, viewRouteFamily } from './delta.ts';
import { DesiredRoutes } from './desired.ts';
import { FamilyStreams, type Lane, type LineSubject, Phase, SPLIT_LINES } from './family-streams.ts';
import { isKernelEntries, type ViewEntry, type ViewRoute } from './view.ts';

export interface RouteConflict {
  readonly key: string;
  readonly dst: string;
  readonly table: number;
  readonly message: string;
}

/** The counters of RouteTableStats this writes. */
export interface RouteBatchStats {
  commands: number;
  linesWritten: number;
  bytesWritten: number;
}

export interface RouteBatchOutcome {
  readonly added: number;
  readonly replaced: number;
  readonly deleted: number;
  /** Adds refused because another protocol holds the key ("File exists"). */
  readonly conflicts: RouteConflict[];
  /** Adds/replaces the kernel refused for another reason. */
  readonly failed: RouteConflict[];
  /** Refused lines that are not about one desired route (a refused delete). */
  readonly errors: BatchFailure[];
  /** The first process that failed as a whole, if any. */
  readonly processError: unknown;
}

const ESRCH = /No such process|No such file or directory/;
const EEXIST = /File exists/;

/** A line: add/replace of a desired slot, delete of a route as read, delete of a written slot. */
const ADD = 0;
const REPLACE = 1;
const DEL = 2;
const DEL_WRITTEN = 3;
type Kind = typeof ADD | typeof REPLACE | typeof DEL | typeof DEL_WRITTEN;

/** The lane of a key only deleted, as read: a hash of the key (family-streams.ts Lane). */
function keyLane(key: string): Lane {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return ((Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 31) & 1) as Lane;
}

export interface RouteBatchOptions {
  readonly netlink: Netlink;
  readonly protocol: number;
  readonly stats: RouteBatchStats;
  /** A phase of a family with this many lines is split over two processes (default SPLIT_LINES). */
  readonly splitLines?: number;
}

export class RouteBatch implements RouteDeltaSink {
  readonly #nl: Netlink;
  readonly #proto: number;
  readonly #stats: RouteBatchStats;
  readonly #splitLines: number;
  readonly #families = new Map<Family, FamilyStreams>();
  #added = 0;
  #replaced = 0;
  #deleted = 0;
  #finished: Promise<RouteBatchOutcome> | undefined;
  #desired = DesiredRoutes.empty();
  #written = DesiredRoutes.empty();

  constructor(opts: RouteBatchOptions) {
    this.#nl = opts.netlink;
    this.#proto = opts.protocol;
    this.#stats = opts.stats;
    this.#splitLines = opts.splitLines ?? SPLIT_LINES;
  }

  /** Whether any line was written. */
  get isEmpty(): boolean {
    for (const f of this.#families.values()) if (f.lineCount > 0) return false;
    return true;
  }

  /**
   * Read our routes of `family` (`ip -json -N -d route show table all proto N`) in a process that
   * will then write this family's lines (Netlink.readThenBatch: one process start, not two; it
   * waits idle for the first phase that needs a process, family-streams.ts). Returns the read's
   * JSON list.
   */
  async read(family: Family): Promise<unknown[]> {
    this.#stats.commands++;
    return this.#family(family).read((lineText) =>
      this.#nl.readThenBatch(
        'ip',
        { options: ['-N', '-d'], args: ['route', 'show', 'table', 'all', 'proto', String(this.#proto)] },
        family,
        { lineText },
      ),
    );
  }

  /** The sets the diff's slots refer to (before the diff runs). */
  plan(desired: DesiredRoutes, written: DesiredRoutes | undefined): void {
    this.#desired = desired;
    this.#written = written ?? DesiredRoutes.empty();
  }

  add(i: number): void {
    this.#added++;
    this.#push(ADD, i, this.#desired.familyAt(i), this.#phaseOf(i), (i & 1) as Lane);
  }

  replace(i: number): void {
    this.#replaced++;
    this.#push(REPLACE, i, this.#desired.familyAt(i), this.#phaseOf(i), (i & 1) as Lane);
  }

  del(have: ViewRoute, _metric: number): void {
    this.#deleted++;
    // A key also desired (an add or replace, then this delete at another metric) stays with its
    // desired route: same phase, same lane.
    const i = this.#desired.indexOf(have.key);
    const family = viewRouteFamily(have);
    if (i >= 0) this.#push(DEL, have, family, this.#phaseOf(i), (i & 1) as Lane);
    else this.#push(DEL, have, family, Phase.free, keyLane(have.key));
  }

  delWritten(j: number): void {
    this.#deleted++;
    this.#push(DEL_WRITTEN, j, this.#written.familyAt(j), Phase.free, (j & 1) as Lane);
  }

  #phaseOf(i: number): Phase {
    return this.#desired.needsGatewayAt(i) ? Phase.gateway : Phase.free;
  }

  #push(kind: Kind, subject: LineSubject, family: Family, phase: Phase, lane: Lane): void {
    this.#family(family).push(kind, subject, phase, lane);
  }

  #family(family: Family): FamilyStreams {
    let f = this.#families.get(family);
    if (f === undefined) {
      f = new FamilyStreams({
        open: (lineText) => {
          this.#stats.commands++;
          return this.#nl.openBatch('ip', family, { lineText });
        },
        render: (kind, subject) => this.#render(kind as Kind, subject),
        splitLines: this.#splitLines,
        stats: this.#stats,
      });
      this.#families.set(family, f);
    }
    return f;
  }

  #render(kind: Kind, s: LineSubject): string {
    if (typeof s !== 'number') {
      return renderViewDeleteLine(s, 'route' in s ? defaultMetric(s.route.family) : s.metric, this.#proto);
    }
    if (kind === DEL_WRITTEN) return this.#written.deleteLine(s, this.#proto);
    return this.#desired.routeLine(kind === ADD ? 'add' : 'replace', s, this.#proto);
  }

  /** Hand what is buffered to the processes; waits while a pipe is full. */
  async flush(): Promise<void> {
    for (const f of this.#families.values()) await f.flush();
  }

  /**
   * After the diff: write what the phases held, close every process, and account for each refused
   * line (see the header). Once; later calls get the same.
   */
  finish(): Promise<RouteBatchOutcome> {
    this.#finished ??= this.#finish();
    return this.#finished;
  }

  /**
   * End every process, whatever happened (never throws): after finish(), once it is done; before
   * (the apply failed before its diff ended), at once, without writing what the phases held.
   */
  async close(): Promise<void> {
    await Promise.all([...this.#families.values()].map((f) => f.end()));
  }

  async #finish(): Promise<RouteBatchOutcome> {
    const outcomes = await Promise.all([...this.#families.values()].map((f) => f.finish()));
    const errors: BatchFailure[] = [];
    const conflicts: RouteConflict[] = [];
    const failed: RouteConflict[] = [];
    let processError: unknown;
    for (const outcome of outcomes) {
      processError ??= outcome.processError;
      for (const { kind, subject, failure } of outcome.refused) {
        if (kind === undefined || subject === undefined) {
          errors.push(failure);
          continue;
        }
        if (kind === DEL || kind === DEL_WRITTEN) {
          if (ESRCH.test(failure.message)) continue; // already gone: the goal is reached
          this.#deleted--;
          errors.push(failure);
          continue;
        }
        if (kind === ADD) this.#added--;
        else this.#replaced--;
        const e = this.#desired.entry(subject as number);
        const r = e.route;
        const problem = { key: e.key, dst: r.dst, table: r.table, message: failure.message };
        if (kind === ADD && EEXIST.test(failure.message)) conflicts.push(problem);
        else failed.push(problem);
      }
    }
    return {
      added: this.#added,
      replaced: this.#replaced,
      deleted: this.#deleted,
      conflicts,
      failed,
      errors,
      processError,
    };
  }

  /**
   * After every line went in: drop from `other` (view.ts) what the lines overwrote or deleted, so
   * that the desired set just written shows through. Costs nothing when `other` is empty (an
   * install onto an empty table, a removal of what we wrote).
   */
  recordInto(other: Map<string, ViewEntry>): void {
    if (other.size === 0) return;
    for (const lines of [...this.#families.values()].flatMap((f) => [...f.written()])) {
      for (let i = 0; i < lines.kinds.length; i++) {
        const kind = lines.kinds[i];
        const s = lines.subjects[i]!;
        const key =
          typeof s !== 'number'
            ? s.key
            : kind === DEL_WRITTEN
              ? this.#written.keyAt(s)
              : this.#desired.keyAt(s);
        const entry = other.get(key);
        if (entry === undefined) continue;
        if (typeof s === 'number' || !isKernelEntries(entry) || 'route' in s) {
          other.delete(key);
          continue;
        }
        const rest = entry.filter((e) => e.metric !== s.metric);
        if (rest.length === 0) other.delete(key);
        else other.set(key, rest);
      }
    }
  }
}
