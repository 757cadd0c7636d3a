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

const EMPTY: ReadonlySet<string> = new Set();

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

  /** Adds or replaces a pod. */
  set(pod: IndexedPod): void {
    this.delete(pod.id);
    const copy: IndexedPod = { id: pod.id, namespace: pod.namespace, labels: { ...pod.labels } };
    this.#pods.set(pod.id, copy);
    addTo(this.#byNamespace, copy.namespace, copy.id);
    for (const [k, v] of Object.entries(copy.labels)) {
      addTo(this.#byKey, k, copy.id);
      addTo(this.#byKeyValue, `${k}\0${v}`, copy.id);
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
    const candidates: ReadonlySet<string>[] = [];
    if (namespaces !== undefined)
      candidates.push(this.#union([...namespaces].map((n) => this.#byNamespace.get(n))));
    for (const r of sel.requirements) {
      if (r.operator === 'In') {
        candidates.push(this.#union(r.values.map((v) => this.#byKeyValue.get(`${r.key}\0${v}`))));
      } else if (r.operator === 'Exists') {
        candidates.push(this.#byKey.get(r.key) ?? EMPTY);
      }
    }
    let start: Iterable<string> = this.#pods.keys();
    if (candidates.length > 0) start = candidates.reduce((a, b) => (b.size < a.size ? b : a));
    const out: string[] = [];
    for (const id of start) {
      const pod = this.#pods.get(id)!;
      if (namespaces !== undefined && !namespaces.has(pod.namespace)) continue;
      if (selectorMatches(sel, pod.labels)) out.push(id);
    }
    return out.sort();
  }

  #union(sets: readonly (Set<string> | undefined)[]): ReadonlySet<string> {
    const present = sets.filter((s): s is Set<string> => s !== undefined);
    if (present.length === 0) return EMPTY;
    if (present.length === 1) return present[0]!;
    const out = new Set<string>();
    for (const s of present) for (const id of s) out.add(id);
    return out;
  }
}
