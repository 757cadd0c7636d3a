// One copy of each short string value that the objects of a cluster repeat. A parser (YAML, JSON,
// a worker's structured clone) makes a new string for every occurrence: a cluster of 30,000 pods
// holds 30,000 copies each of "v1", "Pod", "TCP", "Running", its container and port names and its
// label values. Validated resources are walked once as they enter a datastore and each short
// string value is replaced by the copy the pool already holds, so the copies are garbage at once
// and the heap (and every major collection, which visits all of it) is smaller.
//
// The pool is bounded: when it holds MAX_ENTRIES strings it starts afresh, so that values seen
// once (names, addresses) cannot grow it without limit; the values a cluster repeats are back in
// it after their next occurrence. Property names need no pooling (V8 keeps one copy of each).

/** Strings longer than this are left as they are: long values rarely repeat. */
export const MAX_LENGTH = 48;

/** How many strings the pool holds before it starts afresh. */
export const MAX_ENTRIES = 1 << 16;

export class StringPool {
  #strings = new Map<string, string>();

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
   * depth) by the pool's copy; returns `value`. For objects fresh from a parser or a schema, that
   * nothing else holds yet.
   */
  internValues<T>(value: T): T {
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v === 'string') value[i] = this.intern(v);
        else if (v !== null && typeof v === 'object') this.internValues(v);
      }
      return value;
    }
    const o = value as Record<string, unknown>;
    for (const k in o) {
      const v = o[k];
      if (typeof v === 'string') o[k] = this.intern(v);
      else if (v !== null && typeof v === 'object') this.internValues(v);
    }
    return value;
  }
}

/**
 * The pool of this thread. The datastores put the objects they keep through it on the main
 * thread: the Kubernetes reflector each object it validates, the file datastore each piece it
 * parses or receives from a parse worker (parse.ts sharedValues).
 */
export const strings = new StringPool();
