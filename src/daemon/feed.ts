// Feeding the calculation (a CalcGraph) what the datastore has: on the first pass the whole
// snapshot as added objects, then the datastore's changes in order; and every `checkIntervalMs`
// (the dataplane resync interval) a full comparison of the graph's inputs with the datastore's
// snapshot, as a safety net: what it finds is fed as changes and logged.
//
// The event loop stays free: changes are applied, and the comparison runs, in slices of at most
// SLICE_MS of work with a yield between two slices, so BGP keepalives and the API go on during a
// big change.
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { CalcGraph, snapshotChanges } from '../calc/index.ts';
import type { NodeIdentity } from '../calc/types.ts';
import type { ResourceChange, Snapshot } from '../datastore/types.ts';
import { log } from '../log.ts';
import type { Resource, ResourceKind } from '../model/resource.ts';
import { SNAPSHOT_FIELD, sameResource } from '../model/snapshot.ts';

/** The longest stretch of calculation work between two yields of the event loop. */
export const SLICE_MS = 10;
/** Changes applied between two looks at the clock. */
const SLICE_CHANGES = 64;

/** Yields the event loop whenever SLICE_MS of work has run since the last yield. */
class Slicer {
  #since = performance.now();

  async tick(): Promise<void> {
    if (performance.now() - this.#since < SLICE_MS) return;
    await yieldLoop();
    this.#since = performance.now();
  }
}

export interface GraphFeederOptions {
  readonly snapshot: () => Snapshot;
  /** How often the graph's inputs are compared with the snapshot (ms). */
  readonly checkIntervalMs: number;
  /** Called when the comparison is due: the owner's loop then calls `feed()`. */
  readonly onCheckDue: () => void;
  /** Whether the owner stopped (the work in progress is then dropped). */
  readonly stopped: () => boolean;
}

export class GraphFeeder {
  readonly #opts: GraphFeederOptions;
  /** The calculation; null until the first snapshot has been fed. */
  #graph: CalcGraph | null = null;
  /** Datastore changes not yet fed to the graph, in order. */
  #pending: ResourceChange[] = [];
  #timer: NodeJS.Timeout | null = null;
  #checkDue = false;

  constructor(opts: GraphFeederOptions) {
    this.#opts = opts;
  }

  get graph(): CalcGraph | null {
    return this.#graph;
  }

  /** Queue datastore changes for the next `feed()`. */
  push(changes: readonly ResourceChange[]): void {
    for (const c of changes) this.#pending.push(c);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * Feed the graph what it has not seen (the first time: a new graph for `identity` with the whole
   * snapshot; the changes queued until then are in it), and the drift when the check is due.
   * Null when the owner stopped meanwhile.
   */
  async feed(identity: NodeIdentity): Promise<CalcGraph | null> {
    let graph = this.#graph;
    if (graph === null) {
      graph = new CalcGraph(identity);
      const changes = snapshotChanges(this.#opts.snapshot());
      this.#pending = [];
      if (!(await this.#applySliced(graph, changes))) return null;
      this.#graph = graph;
      this.#timer = setInterval(() => {
        this.#checkDue = true;
        this.#opts.onCheckDue();
      }, this.#opts.checkIntervalMs);
      this.#timer.unref();
    }
    while (this.#pending.length > 0) {
      const changes = this.#pending;
      this.#pending = [];
      if (!(await this.#applySliced(graph, changes))) return null;
    }
    if (this.#checkDue) {
      this.#checkDue = false;
      const drift = await this.#inputDrift(graph, this.#opts.snapshot());
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

  /** Feed changes in slices; false when the owner stopped meanwhile. */
  async #applySliced(graph: CalcGraph, changes: readonly ResourceChange[]): Promise<boolean> {
    const slicer = new Slicer();
    for (let i = 0; i < changes.length; i += SLICE_CHANGES) {
      graph.applyChanges(changes.slice(i, i + SLICE_CHANGES));
      await slicer.tick();
      if (this.#opts.stopped()) return false;
    }
    return true;
  }

  /**
   * The changes that bring the graph's inputs to `snapshot` (identity first, then content; objects
   * the graph isolated are left out), in slices; null when the owner stopped meanwhile.
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
          if (this.#opts.stopped()) return null;
        }
      }
      for (const [key, resource] of have)
        if (!want.has(key)) drift.push({ type: 'deleted', kind, key, resource });
    }
    return drift;
  }
}
