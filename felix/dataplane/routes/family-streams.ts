// The `ip -force -batch -` processes that write one family's lines of one apply (route-batch.ts
// hands over each line of the diff as a record — what it is about, rendered again when it is
// written or named by a failure), and the order in which the kernel gets them.
//
// Why two processes: ip is the bottleneck of a large apply (one line ≈ one netlink round trip, ip
// busy the whole time), so with a second core free the same lines split over two concurrent
// `ip -batch` processes take less time than through one. Why only from SPLIT_LINES (2048) lines of
// a phase on: each process costs a spawn, and the gain needs a free core. For a small phase the
// spawn costs more than the split gains, and on a machine whose cores are all busy the split gains
// nothing and still costs its spawn; SPLIT_LINES sits past the break-even size by a margin, where
// the gain is clear on an idle machine. Below it a phase is one process.
//
// The order rules (each at least as strict as writing every line through one process in the diff's
// order):
// - Partition by key: every line of one route key (`dst` or `table|dst`) is in one lane (a
//   function of the key, see route-batch.ts), a lane goes to one process, and a process takes its
//   lines in the diff's order: an add then the delete of the same key at another metric (make
//   before break) or a replace is never reordered. Lines of different keys need no order among
//   them, except for the next rule.
// - Two phases. A unicast route with a gateway that is not `onlink` (desired.ts needsGateway)
//   needs the gateway reachable when the kernel takes it, possibly through a device (`scope link`)
//   route of this very apply. So the free phase — deletes and every route needing no gateway
//   (device routes, blackhole/unreachable, onlink) — is written first, and the gateway phase — the
//   routes with a gateway, and the deletes of their keys (a key's lines stay together) — only
//   after every process of the free phase has exited: ip acknowledges no line, its exit says every
//   line it was given was run. An empty phase runs no process. So a gateway route is never refused
//   because the device route it needs comes later in the diff.
// - Deletes of keys not desired go in the free phase, before the gateway routes. No add needs a
//   delete of another key first: routes of two keys never collide in the kernel (a key is a table
//   and a prefix; every route of ours at that prefix, whatever its metric, is a line of that key).
//   A delete can affect an add of another key only through a gateway lookup, by taking away the
//   device route a gateway resolved through. Deleting first, a gateway route is judged against the
//   table as this apply leaves it: the result an apply of the same desired set onto a table holding
//   only it (a restart, another node) gets, whatever the diff's order. Writing the adds first would
//   accept a route whose device route the same apply deletes a moment later.
// - Within a phase split over two processes, lines of different keys run in either order: the free
//   phase's routes need nothing of each other, and the kernel resolves a gateway only through a
//   route without one (IPv4 looks for a route of scope link or host, IPv6 refuses a gateway
//   route), so no gateway route depends on another. (A delete in the gateway phase removes a route
//   of ours at another metric of a key whose desired route has a gateway: were it the device route
//   some other gateway needs, the table this apply leaves could not resolve that gateway anyway.)
//
// Process use: the family's read process (a first apply reads in the process that then writes,
// Netlink.readThenBatch) waits idle until a phase takes it; any other process starts when a phase
// needs it. The free phase is held until it reaches SPLIT_LINES lines — then two processes take a
// lane each and stream the rest while the diff runs — or until the diff ends, and is then written
// through one process in the diff's order. The gateway phase is held whole until the free phase is
// done, then split by lane when it has SPLIT_LINES lines, else written in the diff's order. No
// spare process is started ahead of time: a process start overlaps the diff or the other process
// anyway, so having one ready gains nothing. The two families are independent and run at once (up
// to four processes when both have a large phase). Every process is closed in the end — an idle one
// with no lines —, also when another failed; when a process of the free phase failed, the gateway
// phase is not written: which of the free lines took effect is unknown, so the caller drops its
// view and the next apply reads and retries every line.
import { FelixError } from '../../errors.ts';
import type { BatchFailure, BatchResult, BatchWriter } from '../netlink/netlink.ts';
import type { ViewRoute } from './view.ts';

/**
 * Lines of one phase of one family from which it is split over two processes (the header says why
 * at this size: past the break-even between the split's gain and a spawn, by a margin).
 */
export const SPLIT_LINES = 2048;

/** What a line is about (route-batch.ts): a slot of the desired or written set, or a route as read. */
export type LineSubject = number | ViewRoute;

/** The phase of a line: `free` needs nothing of the table, `gateway` waits for `free` (header). */
export const Phase = { free: 0, gateway: 1 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** One of the two halves of the keys of an apply. */
export type Lane = 0 | 1;

/** Line records: line n is (kinds[n - 1], subjects[n - 1]), of lane lanes[n - 1] while held. */
class Lines {
  kinds: number[] = [];
  subjects: LineSubject[] = [];
  lanes: Lane[] = [];

  get length(): number {
    return this.kinds.length;
  }

  push(kind: number, subject: LineSubject, lane: Lane): void {
    this.kinds.push(kind);
    this.subjects.push(subject);
    this.lanes.push(lane);
  }

  /** The lines of `lane`, in order. */
  ofLane(lane: Lane): Lines {
    const out = new Lines();
    for (let i = 0; i < this.kinds.length; i++) {
      if (this.lanes[i] === lane) out.push(this.kinds[i]!, this.subjects[i]!, lane);
    }
    return out;
  }
}

/** One process and the records of the lines it was given (ip numbers each process's lines from 1). */
class Stream {
  writer: BatchWriter | undefined;
  lines = new Lines();
  #closed: Promise<BatchResult> | undefined;
  readonly lineText: (n: number) => string;

  constructor(render: (kind: number, subject: LineSubject) => string) {
    this.lineText = (n) => {
      const kind = this.lines.kinds[n - 1];
      const subject = this.lines.subjects[n - 1];
      return kind === undefined || subject === undefined ? '' : render(kind, subject);
    };
  }

  /** Close the process (once; later calls get the same result). */
  close(): Promise<BatchResult> {
    this.#closed ??= this.writer!.close();
    return this.#closed;
  }
}

export interface FamilyStreamsOptions {
  /** Start a `-force -batch -` process whose failure reports name line n by `lineText(n)`. */
  readonly open: (lineText: (n: number) => string) => BatchWriter;
  /** The text of a line. */
  readonly render: (kind: number, subject: LineSubject) => string;
  /** A phase with at least this many lines is split over two processes. */
  readonly splitLines: number;
  /** Where lines handed to a process are counted. */
  readonly stats: { linesWritten: number; bytesWritten: number };
}

/** A line a process refused: its record (undefined when the number is none of ours) and why. */
export interface RefusedLine {
  readonly kind: number | undefined;
  readonly subject: LineSubject | undefined;
  readonly failure: BatchFailure;
}

export interface FamilyOutcome {
  readonly refused: RefusedLine[];
  /** The first process that failed as a whole, if any. */
  readonly processError: unknown;
}

/** Lines handed over between two flushes while a held phase is written. */
const FEED_STEP = 256;

export class FamilyStreams {
  readonly #opts: FamilyStreamsOptions;
  /** Every process started, for closing and recordInto. */
  readonly #streams: Stream[] = [];
  /** Started, given no line yet (the read process, a spare). */
  readonly #idle: Stream[] = [];
  /** The free phase's lines while it is below the split. */
  #freeHeld = new Lines();
  /** The free phase's process of each lane, once it is split. */
  #free: [Stream, Stream] | undefined;
  /** The gateway phase's lines, held until the free phase is done. */
  readonly #gateway = new Lines();
  #count = 0;
  #finished: Promise<FamilyOutcome> | undefined;
  #ended: Promise<void> | undefined;

  constructor(opts: FamilyStreamsOptions) {
    this.#opts = opts;
  }

  /** Lines pushed. */
  get lineCount(): number {
    return this.#count;
  }

  /**
   * Run `start` — a read in a process that then takes writes (Netlink.readThenBatch) — and keep its
   * process idle for the phases; closed at once when the batch has ended meanwhile.
   */
  async read(
    start: (lineText: (n: number) => string) => Promise<{ list: unknown[]; writer: BatchWriter }>,
  ): Promise<unknown[]> {
    const s = new Stream(this.#opts.render);
    const { list, writer } = await start(s.lineText);
    s.writer = writer;
    if (this.#ended !== undefined || this.#finished !== undefined) {
      await writer.close().catch(() => undefined);
    } else {
      this.#streams.push(s);
      this.#idle.push(s);
    }
    return list;
  }

  /** Take a line of the diff (see the header for where it goes). */
  push(kind: number, subject: LineSubject, phase: Phase, lane: Lane): void {
    this.#count++;
    if (phase === Phase.gateway) {
      this.#gateway.push(kind, subject, lane);
      return;
    }
    const free = this.#free;
    if (free !== undefined) {
      const s = free[lane];
      s.lines.push(kind, subject, lane);
      this.#write(s, kind, subject);
      return;
    }
    const held = this.#freeHeld;
    held.push(kind, subject, lane);
    if (held.length >= this.#opts.splitLines) {
      // From here on the free phase streams through two processes, a lane each.
      const a = this.#take();
      const b = this.#take();
      this.#free = [a, b];
      this.#freeHeld = new Lines();
      this.#send(a, held.ofLane(0));
      this.#send(b, held.ofLane(1));
    }
  }

  /** Hand what is buffered to the free phase's processes; waits while a pipe is full. */
  async flush(): Promise<void> {
    for (const s of this.#free ?? []) await s.writer!.flush();
  }

  /**
   * Write what is held (a free phase below the split; then, once every process of the free phase
   * has exited, the gateway phase), close every process, and collect the refused lines. Once.
   */
  finish(): Promise<FamilyOutcome> {
    if (this.#finished === undefined && this.#ended !== undefined) {
      const processError = new FelixError(
        'FELIX_ERR_COMMAND_FAILED',
        'route batch ended before it was written',
      );
      this.#finished = this.#ended.then(() => ({ refused: [], processError }));
    }
    this.#finished ??= this.#finish().catch(async (e: unknown) => {
      // Not a process failure but a bug of ours: still, no process is left waiting for lines,
      // and the caller treats it as one (its view is dropped).
      await Promise.allSettled(this.#streams.map((s) => s.close()));
      return { refused: [], processError: e };
    });
    return this.#finished;
  }

  /**
   * End every process. After finish(): when it is done. Before (the apply failed): at once,
   * writing nothing that is held.
   */
  end(): Promise<void> {
    this.#ended ??= (async () => {
      if (this.#finished !== undefined) {
        await this.#finished;
        return;
      }
      await Promise.allSettled(this.#streams.map((s) => s.close()));
    })();
    return this.#ended;
  }

  /** The records of every line handed to a process (recordInto). */
  *written(): Generator<{ readonly kinds: readonly number[]; readonly subjects: readonly LineSubject[] }> {
    for (const s of this.#streams) if (s.lines.length > 0) yield s.lines;
  }

  async #finish(): Promise<FamilyOutcome> {
    const out: { refused: RefusedLine[]; processError: unknown } = { refused: [], processError: undefined };
    if (this.#free !== undefined) {
      await this.#closeInto(this.#free, out);
    } else if (this.#freeHeld.length > 0) {
      const s = this.#take();
      await this.#feed(s, this.#freeHeld);
      await this.#closeInto([s], out);
    }
    const gateway = this.#gateway;
    const lanes: [Stream, Lines][] = [];
    if (out.processError === undefined && gateway.length > 0) {
      const [g0, g1] =
        gateway.length >= this.#opts.splitLines ? [gateway.ofLane(0), gateway.ofLane(1)] : [gateway];
      if (g1 !== undefined && g0.length > 0 && g1.length > 0)
        lanes.push([this.#take(), g0], [this.#take(), g1]);
      else lanes.push([this.#take(), gateway]);
    }
    const idle = this.#closeInto(this.#idle.splice(0), out);
    await Promise.all(lanes.map(([s, lines]) => this.#feed(s, lines)));
    await this.#closeInto(
      lanes.map(([s]) => s),
      out,
    );
    await idle;
    return out;
  }

  /** An idle process, or a new one. */
  #take(): Stream {
    return this.#idle.shift() ?? this.#open();
  }

  #open(): Stream {
    const s = new Stream(this.#opts.render);
    s.writer = this.#opts.open(s.lineText);
    this.#streams.push(s);
    return s;
  }

  /** Give `lines` to `s`, a process with none yet (no flush: the caller flushes soon). */
  #send(s: Stream, lines: Lines): void {
    s.lines = lines;
    for (let i = 0; i < lines.length; i++) this.#write(s, lines.kinds[i]!, lines.subjects[i]!);
  }

  /** Give `lines` to `s`, a process with none yet, flushing as it goes (a whole held phase). */
  async #feed(s: Stream, lines: Lines): Promise<void> {
    s.lines = lines;
    const { kinds, subjects } = lines;
    for (let i = 0; i < kinds.length; i++) {
      this.#write(s, kinds[i]!, subjects[i]!);
      if (i % FEED_STEP === FEED_STEP - 1) await s.writer!.flush();
    }
  }

  #write(s: Stream, kind: number, subject: LineSubject): void {
    const line = this.#opts.render(kind, subject);
    s.writer!.push(line);
    this.#opts.stats.linesWritten++;
    this.#opts.stats.bytesWritten += line.length + 1;
  }

  /** Close `streams` (every one, whatever the others do) and collect their refused lines. */
  async #closeInto(
    streams: readonly Stream[],
    out: { refused: RefusedLine[]; processError: unknown },
  ): Promise<void> {
    const results = await Promise.allSettled(streams.map((s) => s.close()));
    results.forEach((settled, i) => {
      if (settled.status === 'rejected') {
        out.processError ??= settled.reason;
        return;
      }
      const { kinds, subjects } = streams[i]!.lines;
      for (const failure of settled.value.failures) {
        out.refused.push({ kind: kinds[failure.line - 1], subject: subjects[failure.line - 1], failure });
      }
    });
  }
}
