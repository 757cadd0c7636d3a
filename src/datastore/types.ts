// The datastore interface, the first stage of the agent's data flow (datastore → calculation →
// speaker and dataplane): a source of the typed cluster state. The file datastore (file/) and the
// Kubernetes datastore (k8s/) implement it; the calculation sees only a Snapshot and the changes
// between two snapshots, never where they came from.
//
// Contract:
// - `start()` resolves after the first load attempt; `ready()` is true once a valid state has been
//   loaded (for Kubernetes: after the initial list of every kind), and 'ready' is emitted once.
// - 'changed' carries the new snapshot and the per-object changes against the previous one; it is
//   not emitted when nothing changed, so a deleted object is reported exactly once.
// - 'error' reports a rejected update (invalid file, unreadable file, API outage). The last good
//   snapshot stays in force and `lastError` holds the error until the next good state clears it.
import type { MargayError } from '../errors.ts';
import type { ResourceChange, Snapshot } from '../model/snapshot.ts';

export type { ResourceChange, Snapshot } from '../model/snapshot.ts';

export interface SnapshotChanged {
  readonly snapshot: Snapshot;
  readonly previous: Snapshot;
  readonly changes: readonly ResourceChange[];
}

export interface DatastoreEvents {
  ready: (snapshot: Snapshot) => void;
  changed: (event: SnapshotChanged) => void;
  error: (error: MargayError) => void;
}

export interface Datastore {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The last good state (empty before the first). */
  snapshot(): Snapshot;
  ready(): boolean;
  /** The error of the last rejected update; undefined once a good state is loaded again. */
  readonly lastError: MargayError | undefined;
  on<E extends keyof DatastoreEvents>(event: E, listener: DatastoreEvents[E]): this;
  off<E extends keyof DatastoreEvents>(event: E, listener: DatastoreEvents[E]): this;
}
