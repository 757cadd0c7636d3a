// One open watch: a chunked HTTP 200 response carrying one JSON watch event per line,
// `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{…}}\n`, as the API server streams them.
//
// Filtering follows the watch cache (apiserver storage/cacher cacheWatcher.convertToWatchEvent): an
// update that makes an object start matching the selectors is sent as ADDED, one that makes it stop
// matching as DELETED carrying the previous content with the event's resourceVersion.
// A BOOKMARK carries only kind, apiVersion and metadata.resourceVersion (the current revision); the
// server sends one every `bookmarkIntervalMs`, one just before `timeoutSeconds` ends the stream, and
// one annotated `k8s.io/initial-events-end` after the initial events when `sendInitialEvents=true`.
// A resume from a compacted resourceVersion is answered 200 with a single ERROR event whose object is
// a 410 Expired Status, then the stream ends — the real server's behaviour, which informers rely on.
import type { ServerResponse } from 'node:http';
import type { KubeObject, ResourceDef } from './resources.ts';
import { apiVersionOf, resourceKey } from './resources.ts';
import { type FieldRequirement, type LabelRequirement, matchesFields, matchesLabels } from './selectors.ts';
import { expired, type Status } from './status.ts';
import type { ObjectStore, StoreEvent } from './store.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: KubeObject | Status;
}

export interface ObjectFilter {
  readonly namespace: string | undefined;
  readonly labels: readonly LabelRequirement[];
  readonly fields: readonly FieldRequirement[];
}

export function passes(def: ResourceDef, filter: ObjectFilter, obj: KubeObject): boolean {
  if (def.namespaced && filter.namespace !== undefined && obj.metadata.namespace !== filter.namespace)
    return false;
  if (!matchesLabels(filter.labels, obj.metadata.labels ?? {})) return false;
  return matchesFields(filter.fields, (field) => {
    if (field === 'metadata.name') return obj.metadata.name ?? '';
    if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
    return def.fields[field]?.(obj) ?? '';
  });
}

/** What one watcher with this filter sees of a store event, or undefined when it sees nothing. */
export function eventFor(def: ResourceDef, filter: ObjectFilter, e: StoreEvent): WatchEvent | undefined {
  const isCurrent = e.type !== 'DELETED' && passes(def, filter, e.object);
  const wasPrevious = e.prev !== undefined && passes(def, filter, e.prev);
  if (isCurrent) return { type: wasPrevious ? 'MODIFIED' : 'ADDED', object: e.object };
  if (!wasPrevious) return undefined;
  if (e.type === 'DELETED') return { type: 'DELETED', object: e.object };
  const prev = e.prev as KubeObject;
  return {
    type: 'DELETED',
    object: { ...prev, metadata: { ...prev.metadata, resourceVersion: String(e.rv) } },
  };
}

export interface WatchParams {
  readonly def: ResourceDef;
  readonly filter: ObjectFilter;
  /** A resourceVersion to resume after, or 'initial' to send the current state as ADDED events first. */
  readonly from: number | 'initial';
  readonly allowBookmarks: boolean;
  readonly sendInitialEvents: boolean;
  readonly timeoutMs: number | undefined;
  readonly bookmarkIntervalMs: number;
}

export class WatchStream {
  readonly #res: ServerResponse;
  readonly #store: ObjectStore;
  readonly #params: WatchParams;
  readonly #timers: NodeJS.Timeout[] = [];
  #unsubscribe: (() => void) | undefined;
  #isClosed = false;
  readonly #onClosed: (w: WatchStream) => void;

  constructor(
    res: ServerResponse,
    store: ObjectStore,
    params: WatchParams,
    onClosed: (w: WatchStream) => void,
  ) {
    this.#res = res;
    this.#store = store;
    this.#params = params;
    this.#onClosed = onClosed;
    res.on('close', () => this.#cleanup());
  }

  get resource(): ResourceDef {
    return this.#params.def;
  }

  get allowsBookmarks(): boolean {
    return this.#params.allowBookmarks;
  }

  /** Writes the headers and the replayed events, then follows the store. All synchronous: no gap. */
  start(): void {
    const { def, filter, from } = this.#params;
    this.#res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    this.#res.flushHeaders();
    if (from === 'initial') {
      for (const obj of this.#store.list(def, filter.namespace)) {
        if (passes(def, filter, obj)) this.#send({ type: 'ADDED', object: obj });
      }
      if (this.#params.sendInitialEvents && this.#params.allowBookmarks) {
        this.sendBookmark({ 'k8s.io/initial-events-end': 'true' });
      }
    } else {
      const events = this.#store.eventsAfter(def, from);
      if (events === undefined) {
        const oldest = this.#store.compactedRevision;
        this.#send({ type: 'ERROR', object: expired(`too old resource version: ${from} (${oldest})`) });
        this.end();
        return;
      }
      for (const e of events) this.#deliver(e);
    }
    this.#unsubscribe = this.#store.subscribe((e) => {
      if (e.resource === resourceKey(def)) this.#deliver(e);
    });
    if (this.#params.allowBookmarks) {
      const t = setInterval(() => this.sendBookmark(), this.#params.bookmarkIntervalMs);
      this.#timers.push(t);
    }
    if (this.#params.timeoutMs !== undefined) {
      this.#timers.push(
        setTimeout(() => {
          if (this.#params.allowBookmarks) this.sendBookmark();
          this.end();
        }, this.#params.timeoutMs),
      );
    }
  }

  sendBookmark(annotations?: Record<string, string>): void {
    if (this.#isClosed) return;
    const metadata: KubeObject['metadata'] = { resourceVersion: String(this.#store.revision) };
    if (annotations !== undefined) metadata.annotations = annotations;
    this.#send({
      type: 'BOOKMARK',
      object: { kind: this.#params.def.kind, apiVersion: apiVersionOf(this.#params.def), metadata },
    });
  }

  /** Ends the stream cleanly (the terminating chunk), as the server does when timeoutSeconds expires. */
  end(): void {
    this.#cleanup();
    this.#res.end();
  }

  /** Kills the connection mid-stream, as a crashed API server or a network blip would. */
  destroy(): void {
    this.#cleanup();
    this.#res.socket?.destroy();
    this.#res.destroy();
  }

  #deliver(e: StoreEvent): void {
    const ev = eventFor(this.#params.def, this.#params.filter, e);
    if (ev !== undefined) this.#send(ev);
  }

  #send(ev: WatchEvent): void {
    if (this.#isClosed) return;
    this.#res.write(`${JSON.stringify(ev)}\n`);
  }

  #cleanup(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#unsubscribe?.();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.length = 0;
    this.#onClosed(this);
  }
}
