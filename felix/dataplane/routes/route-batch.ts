// One apply's writes (route-table.ts): the diff's ops (delta.ts, RouteDeltaSink) rendered into one
// streaming `ip -4|-6 -force -batch -` per family, and afterwards every refused line accounted for.
//
// Per line only what naming a refused line needs is kept — its kind and what it is about: a slot
// of the desired or written set (desired.ts: a plain route has no entry object until one is
// needed) or a route as read (two array slots; no op object, no copy of the text: the writer asks
// for the text of a refused line and gets it rendered again). A refused line is:
// - a delete of a route already gone ("No such process"): the goal is reached, not a failure;
// - an add refused with "File exists": a foreign route holds the key, a `conflict`;
// - any other refused add/replace: a `failed` route with the kernel's message;
// - any other refused delete, or a failure naming no line of ours: an error the apply throws.
// A batch whose process failed (batch-writer.ts: killed, cannot start, exit status naming no
// line) leaves every line of that family unknown: `processError`, and the caller drops its view.
import type { BatchFailure, BatchWriter, Family, Netlink } from '../netlink/netlink.ts';
import { defaultMetric } from '../netlink/routes-json.ts';
import { type RouteDeltaSink, renderViewDeleteLine, viewRouteFamily } from './delta.ts';
import { DesiredRoutes } from './desired.ts';
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
  /** The first batch process that failed as a whole, if any. */
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

/** The lines of one family's batch, by line number - 1. */
interface FamilyLines {
  readonly writer: BatchWriter;
  readonly kinds: Kind[];
  /** ADD, REPLACE: the desired slot; DEL: the route as read; DEL_WRITTEN: the written slot. */
  readonly subjects: (number | ViewRoute)[];
}

export class RouteBatch implements RouteDeltaSink {
  readonly #nl: Netlink;
  readonly #proto: number;
  readonly #stats: RouteBatchStats;
  readonly #families = new Map<Family, FamilyLines>();
  readonly #recordsOf = new Map<Family, Omit<FamilyLines, 'writer'>>();
  #added = 0;
  #replaced = 0;
  #deleted = 0;
  #closed: Promise<RouteBatchOutcome> | undefined;
  #desired = DesiredRoutes.empty();
  #written = DesiredRoutes.empty();

  constructor(opts: { netlink: Netlink; protocol: number; stats: RouteBatchStats }) {
    this.#nl = opts.netlink;
    this.#proto = opts.protocol;
    this.#stats = opts.stats;
  }

  /** Whether any line was written. */
  get isEmpty(): boolean {
    for (const f of this.#families.values()) if (f.kinds.length > 0) return false;
    return true;
  }

  /**
   * Read our routes of `family` (`ip -json -N -d route show table all proto N`) in the process
   * that will then write this family's lines (Netlink.readThenBatch: one process start, not two).
   * Returns the read's JSON list.
   */
  async read(family: Family): Promise<unknown[]> {
    this.#stats.commands++;
    const { list, writer } = await this.#nl.readThenBatch(
      'ip',
      { options: ['-N', '-d'], args: ['route', 'show', 'table', 'all', 'proto', String(this.#proto)] },
      family,
      { lineText: this.#lineText(family) },
    );
    if (this.#closed !== undefined) {
      await writer.close().catch(() => undefined); // the apply ended (another family's read failed)
    } else {
      this.#families.set(family, { writer, ...this.#records(family) });
    }
    return list;
  }

  /** The sets the diff's slots refer to (before the diff runs). */
  plan(desired: DesiredRoutes, written: DesiredRoutes | undefined): void {
    this.#desired = desired;
    this.#written = written ?? DesiredRoutes.empty();
  }

  add(i: number): void {
    this.#added++;
    this.#push(ADD, i, this.#desired.familyAt(i), this.#desired.routeLine('add', i, this.#proto));
  }

  replace(i: number): void {
    this.#replaced++;
    this.#push(REPLACE, i, this.#desired.familyAt(i), this.#desired.routeLine('replace', i, this.#proto));
  }

  del(have: ViewRoute, metric: number): void {
    this.#deleted++;
    this.#push(DEL, have, viewRouteFamily(have), renderViewDeleteLine(have, metric, this.#proto));
  }

  delWritten(j: number): void {
    this.#deleted++;
    this.#push(DEL_WRITTEN, j, this.#written.familyAt(j), this.#written.deleteLine(j, this.#proto));
  }

  #push(kind: Kind, subject: number | ViewRoute, family: Family, line: string): void {
    let f = this.#families.get(family);
    if (f === undefined) {
      f = this.#open(family);
      this.#families.set(family, f);
    }
    f.writer.push(line);
    f.kinds.push(kind);
    f.subjects.push(subject);
    this.#stats.linesWritten++;
    this.#stats.bytesWritten += line.length + 1;
  }

  #open(family: Family): FamilyLines {
    this.#stats.commands++;
    const writer = this.#nl.openBatch('ip', family, { lineText: this.#lineText(family) });
    return { writer, ...this.#records(family) };
  }

  /** The line records of `family` (made once, before its writer, which names lines from them). */
  #records(family: Family): Omit<FamilyLines, 'writer'> {
    let r = this.#recordsOf.get(family);
    if (r === undefined) {
      r = { kinds: [], subjects: [] };
      this.#recordsOf.set(family, r);
    }
    return r;
  }

  /** The text of line n of `family`'s batch, rendered again from its record (failure reports). */
  #lineText(family: Family): (n: number) => string {
    const { kinds, subjects } = this.#records(family);
    return (n) => {
      const kind = kinds[n - 1];
      const s = subjects[n - 1];
      return kind === undefined || s === undefined ? '' : this.#render(kind, s);
    };
  }

  #render(kind: Kind, s: number | ViewRoute): string {
    if (typeof s !== 'number') {
      return renderViewDeleteLine(s, 'route' in s ? defaultMetric(s.route.family) : s.metric, this.#proto);
    }
    if (kind === DEL_WRITTEN) return this.#written.deleteLine(s, this.#proto);
    return this.#desired.routeLine(kind === ADD ? 'add' : 'replace', s, this.#proto);
  }

  /** Hand what is buffered to the processes; waits while a pipe is full. */
  async flush(): Promise<void> {
    for (const f of this.#families.values()) await f.writer.flush();
  }

  /** Close every batch and account for each refused line (see the header). Once; later calls get the same. */
  close(): Promise<RouteBatchOutcome> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<RouteBatchOutcome> {
    const families = [...this.#families.values()];
    const results = await Promise.allSettled(families.map((f) => f.writer.close()));
    const errors: BatchFailure[] = [];
    const conflicts: RouteConflict[] = [];
    const failed: RouteConflict[] = [];
    let processError: unknown;
    results.forEach((settled, i) => {
      if (settled.status === 'rejected') {
        processError ??= settled.reason;
        return;
      }
      const f = families[i]!;
      for (const failure of settled.value.failures) {
        const kind = f.kinds[failure.line - 1];
        if (kind === undefined) {
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
        const e = this.#desired.entry(f.subjects[failure.line - 1] as number);
        const r = e.route;
        const problem = { key: e.key, dst: r.dst, table: r.table, message: failure.message };
        if (kind === ADD && EEXIST.test(failure.message)) conflicts.push(problem);
        else failed.push(problem);
      }
    });
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
    for (const f of this.#families.values()) {
      for (let i = 0; i < f.kinds.length; i++) {
        const kind = f.kinds[i];
        const s = f.subjects[i]!;
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
