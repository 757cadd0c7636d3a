// An inverted label index over pods (Felix felix/labelindex, much smaller): which pods have label
// key k with value v, which have key k at all, which live in namespace n. A selector is answered by
// starting from the smallest candidate set one of its positive requirements (In, Exists) or the
// namespace restriction gives, then checking the remaining requirements on those candidates only;
// a selector with no positive requirement (`{}`, `!k`, `k notin (…)`) scans the namespace or all
// pods. Maintained incrementally (`set`/`delete`), so an event-driven caller pays per change, and a
// pure caller builds one per render.
import type { CanonicalSelector } from './selector.ts';
import { selectorMatches } from './selector.ts';

export interface IndexedPod {
  readonly id: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (s === undefined) {
    s = new Set();
    m.set(k, s);
  }
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

export class LabelIndex {
  readonly #pods = new Map<string, IndexedPod>();
  readonly #byKeyValue = new Map<string, Set<string>>();
  readonly #byKey = new Map<string, Set<string>>();
  readonly #byNamespace = new Map<string, Set<string>>();

  get size(): number {
    return this.#pods.size;
  }

  get(id: string): IndexedPod | undefined {
    return this.#pods.get(id);
  }

  /** The namespaces that hold at least one pod. */
  namespaces(): IterableIterator<string> {
    return this.#byNamespace.keys();
  }

  /** Adds or replaces a pod. Its labels object is kept as given: the caller never changes it. */
  set(pod: IndexedPod): void {
    this.delete(pod.id);
    this.#pods.set(pod.id, pod);
    addTo(this.#byNamespace, pod.namespace, pod.id);
    for (const [k, v] of Object.entries(pod.labels)) {
      addTo(this.#byKey, k, pod.id);
      addTo(this.#byKeyValue, `${k}\0${v}`, pod.id);
    }
  }

  delete(id: string): void {
    const old = this.#pods.get(id);
    if (old === undefined) return;
    this.#pods.delete(id);
    removeFrom(this.#byNamespace, old.namespace, id);
    for (const [k, v] of Object.entries(old.labels)) {
      removeFrom(this.#byKey, k, id);
      removeFrom(this.#byKeyValue, `${k}\0${v}`, id);
    }
  }

  /**
   * Ids of the pods matching `sel` whose namespace is in `namespaces` (undefined = any namespace),
   * sorted.
   */
  select(sel: CanonicalSelector, namespaces?: ReadonlySet<string>): string[] {
    const out: string[] = [];
    for (const id of this.candidates(sel, namespaces)) {
      const pod = this.#pods.get(id)!;
      if (namespaces !== undefined && !namespaces.has(pod.namespace)) continue;
      if (selectorMatches(sel, pod.labels)) out.push(id);
    }
    return out.sort();
  }

  /**
   * Ids of the pods that may match `sel` in `namespaces`, lazily: those of the smallest candidate
   * sets. Each candidate is a list of disjoint sets (a pod has one namespace and one value per
   * key), so the smallest is found by adding sizes and walked set by set, never merged into a copy.
   * The index may change while a caller takes its time: a pod removed meanwhile is not yielded,
   * one added or relabelled meanwhile may or may not be, so the caller checks each id against the
   * pod as it is then and learns of later pods otherwise.
   */
  *candidates(sel: CanonicalSelector, namespaces?: ReadonlySet<string>): Generator<string> {
    const candidates: (readonly (Set<string> | undefined)[])[] = [];
    if (namespaces !== undefined) candidates.push([...namespaces].map((n) => this.#byNamespace.get(n)));
    for (const r of sel.requirements) {
      if (r.operator === 'In') candidates.push(r.values.map((v) => this.#byKeyValue.get(`${r.key}\0${v}`)));
      else if (r.operator === 'Exists') candidates.push([this.#byKey.get(r.key)]);
    }
    const size = (c: readonly (Set<string> | undefined)[]) => c.reduce((n, x) => n + (x?.size ?? 0), 0);
    let start: Iterable<Iterable<string> | undefined> = [this.#pods.keys()];
    if (candidates.length > 0) start = candidates.reduce((a, b) => (size(b) < size(a) ? b : a));
    for (const ids of start) if (ids !== undefined) yield* ids;
  }
}
