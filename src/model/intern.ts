// One copy of each short string value that the objects of a cluster repeat, and of each small
// object made only of such values. A parser (YAML, JSON, a worker's structured clone) makes a new
// string for every occurrence: a cluster of 30,000 pods holds 30,000 copies each of "v1", "Pod",
// "TCP", "Running", its container and port names and its label values, and as many label sets,
// container port lists and specs that the pods of one workload (on one node) repeat. Validated
// resources are walked once as they enter a datastore: each short string value is replaced by
// the copy the pool already holds, and each nested object or array whose values the pool held
// already by the copy it shares (frozen), so the copies are garbage at once and the heap (and
// every major collection, which visits all of it) is smaller.
//
// The pool is bounded: when it holds MAX_ENTRIES strings (MAX_OBJECTS objects) it starts afresh,
// so that values seen once (names, addresses) cannot grow it without limit; the values a cluster
// repeats are back in it after their next occurrence. An object is pooled only once every value
// in it has been seen before, so an object with a pod's own name or address never is. Property
// names need no pooling (V8 keeps one copy of each).

/** Strings longer than this are left as they are: long values rarely repeat. */
export const MAX_LENGTH = 48;

/** How many strings the pool holds before it starts afresh. */
export const MAX_ENTRIES = 1 << 16;

/** How many shared objects and arrays the pool holds before it starts afresh. */
export const MAX_OBJECTS = 1 << 14;

/** Objects and arrays whose JSON text is longer than this are not shared: they rarely repeat. */
export const MAX_KEY_LENGTH = 1024;

/**
 * Marks a node the pool shares (or shared before it last started afresh): a property that no
 * enumeration, spread or JSON text shows.
 */
const ID: unique symbol = Symbol('pooled');

interface Shared {
  readonly [ID]?: true;
}

/** What #node answers for an object or array that holds a value not repeated yet. */
const FIRST_SEEN: unique symbol = Symbol('first seen');

export class StringPool {
  #strings = new Map<string, string>();
  /** Shared nodes by a key made of their values (pooled child nodes by id). */
  #objects = new Map<string, object>();
  /** The strings the current walk added to the pool. */
  readonly #fresh = new Set<string>();
  /** What the last #string call found: whether its value was in the pool before this walk. */
  #repeated = false;

  /** The pool's copy of `s`, which becomes the copy when it has none. */
  intern(s: string): string {
    if (s.length > MAX_LENGTH) return s;
    const have = this.#strings.get(s);
    if (have !== undefined) return have;
    if (this.#strings.size >= MAX_ENTRIES) this.#strings = new Map();
    this.#strings.set(s, s);
    return s;
  }

  get size(): number {
    return this.#strings.size;
  }

  /** Whether the pool holds a copy of `s`. */
  has(s: string): boolean {
    return this.#strings.has(s);
  }

  /**
   * Replaces, in place, every short string value in `value` (plain objects and arrays, to any
   * depth) by the pool's copy, and every nested object or array that holds only repeated values by
   * one shared, frozen copy (see `#walk`); returns `value`, which itself is never replaced. For
   * objects fresh from a parser or a schema, that nothing else holds yet: what it shares is frozen,
   * so a later attempt to change it in place throws instead of changing every object that shares it.
   */
  internValues<T>(value: T): T {
    if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
      this.#walk(value);
      this.#fresh.clear();
    }
    return value;
  }

  /**
   * Pools the values of `node` in place and says whether `node` is made only of repeated values:
   * numbers, booleans, null, strings the pool held before this walk, and nodes the pool shares.
   * The caller (#node) then shares such a node: the labels, annotations, container ports and
   * specs that pods of one workload repeat are one object each, not one per pod. A node with a
   * value seen for the first time (a pod's name or address) is left as it is and not remembered,
   * so unique objects cannot fill the pool. Nodes are equal when their JSON texts are: resources
   * are JSON data.
   */
  #walk(node: object): boolean {
    let repeated = true;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') {
          node[i] = this.#string(v);
          repeated &&= this.#repeated;
          continue;
        }
        const r = this.#node(v);
        if (r === FIRST_SEEN) repeated = false;
        else if (r !== v) node[i] = r;
      }
    } else {
      const o = node as Record<string, unknown>;
      for (const k in o) {
        const v = o[k];
        if (typeof v === 'string') {
          o[k] = this.#string(v);
          repeated &&= this.#repeated;
          continue;
        }
        const r = this.#node(v);
        if (r === FIRST_SEEN) repeated = false;
        else if (r !== v) o[k] = r;
      }
    }
    return repeated;
  }

  /**
   * The pool's copy of `v` (which becomes it if the pool has none); sets #repeated to whether the
   * pool held it before this walk. A value this walk met first is not repeated yet: a pod's
   * address, which it gives twice (status.podIP and status.podIPs), does not make {ip} shared.
   */
  #string(v: string): string {
    if (v.length > MAX_LENGTH) {
      this.#repeated = false;
      return v;
    }
    const have = this.#strings.get(v);
    if (have === undefined) {
      this.intern(v);
      this.#fresh.add(v);
      this.#repeated = false;
      return v;
    }
    this.#repeated = !this.#fresh.has(have);
    return have;
  }

  /** A value other than a string as its parent keeps it (pooled), or FIRST_SEEN if not repeated. */
  #node(v: unknown): unknown {
    if (v === null || typeof v !== 'object') return v;
    if ((v as Shared)[ID] !== undefined) return v;
    if (Object.isFrozen(v)) return FIRST_SEEN;
    // Keyed by its JSON text (one native call): a node equal to a shared one is replaced whole,
    // without a walk through it.
    const key = JSON.stringify(v);
    const fits = key.length <= MAX_KEY_LENGTH;
    if (fits) {
      const have = this.#objects.get(key);
      if (have !== undefined) return have;
    }
    if (!this.#walk(v) || !fits) return FIRST_SEEN;
    if (this.#objects.size >= MAX_OBJECTS) this.#objects = new Map();
    Object.defineProperty(v, ID, { value: true });
    Object.freeze(v);
    this.#objects.set(key, v);
    return v;
  }

  /** How many shared objects and arrays the pool holds. */
  get objects(): number {
    return this.#objects.size;
  }
}

/**
 * The pool of this thread. The datastores put the objects they keep through it on the main
 * thread: the Kubernetes reflector each object it validates, the file datastore each piece it
 * parses or receives from a parse worker (parse.ts sharedValues).
 */
export const strings = new StringPool();
