// PersistentMap: the read-only string-keyed map a Snapshot holds per kind, with a `with` that
// makes the next version without copying the whole map. A datastore hands out every snapshot it
// makes (a 'changed' event carries the previous one too), so a version is never changed after it
// is built; copying a map of 30,000 pods for a change of one pod would make every batch cost in
// proportion to the cluster instead of the change.
//
// The entries are spread over shards (plain Maps) by a hash of the key; `with` copies only the
// shards its keys fall in and shares the others with the version it came from. The shard count
// follows the size (about SHARD_TARGET entries per shard), and a version whose size has drifted
// far from its shard count is re-sharded, which happens once per doubling or halving: a change
// costs the touched shards plus one array of shard references.
//
// Iteration order is deterministic (shard by shard, each in insertion order) but it is not the
// order of insertion overall once there is more than one shard; callers that need an order sort,
// as with any snapshot map.

/** Average entries per shard right after the shards are laid out. */
const SHARD_TARGET = 32;

/** FNV-1a over the UTF-16 code units of the key. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The shard count for `size` entries: a power of two, about SHARD_TARGET entries each. */
function shardCountFor(size: number): number {
  let count = 1;
  while (count * SHARD_TARGET * 2 < size) count *= 2;
  return count;
}

export class PersistentMap<V> implements ReadonlyMap<string, V> {
  readonly #shards: readonly ReadonlyMap<string, V>[];
  readonly #size: number;

  private constructor(shards: readonly ReadonlyMap<string, V>[], size: number) {
    this.#shards = shards;
    this.#size = size;
  }

  /** A map of the entries; a later entry with the same key replaces an earlier one. */
  static of<V>(entries: Iterable<readonly [string, V]>): PersistentMap<V> {
    const list = Array.isArray(entries) ? (entries as readonly (readonly [string, V])[]) : [...entries];
    const shards = Array.from({ length: shardCountFor(list.length) }, () => new Map<string, V>());
    const mask = shards.length - 1;
    let size = 0;
    for (const [key, value] of list) {
      const shard = shards[hash(key) & mask]!;
      if (!shard.has(key)) size++;
      shard.set(key, value);
    }
    return new PersistentMap(shards, size);
  }

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>([new Map()], 0);
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#shards[hash(key) & (this.#shards.length - 1)]!.get(key);
  }

  has(key: string): boolean {
    return this.#shards[hash(key) & (this.#shards.length - 1)]!.has(key);
  }

  /**
   * The next version: this map with each update applied in order (`undefined` deletes the key).
   * This version stays as it is. Costs the shards the keys fall in, not the whole map.
   */
  with(updates: Iterable<readonly [string, V | undefined]>): PersistentMap<V> {
    const mask = this.#shards.length - 1;
    const shards = [...this.#shards];
    const copied = new Set<number>();
    let size = this.#size;
    for (const [key, value] of updates) {
      const i = hash(key) & mask;
      let shard = shards[i] as Map<string, V>;
      if (!copied.has(i)) {
        if (value === undefined && !shard.has(key)) continue;
        shard = new Map(shard);
        shards[i] = shard;
        copied.add(i);
      }
      const had = shard.has(key);
      if (value === undefined) {
        if (had) size--;
        shard.delete(key);
      } else {
        if (!had) size++;
        shard.set(key, value);
      }
    }
    if (copied.size === 0) return this;
    const wanted = shardCountFor(size);
    // Re-shard only far from the layout (4x either way), so that growing or shrinking by one
    // entry at a time re-shards once per doubling or halving.
    if (wanted >= shards.length * 4 || wanted * 4 <= shards.length)
      return PersistentMap.of(shards.flatMap((s) => [...s]));
    return new PersistentMap(shards, size);
  }

  /**
   * Every key that may be in one map and not the other or differ between them: the keys of the
   * shards the two do not share (every key when their shards are laid out differently).
   */
  keysNotSharedWith(other: PersistentMap<V>): Set<string> {
    const keys = new Set<string>();
    const a = this.#shards;
    const b = other.#shards;
    if (a.length !== b.length) {
      for (const shard of a) for (const key of shard.keys()) keys.add(key);
      for (const shard of b) for (const key of shard.keys()) keys.add(key);
      return keys;
    }
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      for (const key of a[i]!.keys()) keys.add(key);
      for (const key of b[i]!.keys()) keys.add(key);
    }
    return keys;
  }

  *entries(): MapIterator<[string, V]> {
    for (const shard of this.#shards) yield* shard.entries();
  }

  *keys(): MapIterator<string> {
    for (const shard of this.#shards) yield* shard.keys();
  }

  *values(): MapIterator<V> {
    for (const shard of this.#shards) yield* shard.values();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  /** What it stands for: generic code (test matchers, printers) compares and shows it as a Map. */
  get [Symbol.toStringTag](): string {
    return 'Map';
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const shard of this.#shards)
      for (const [key, value] of shard) callback.call(thisArg, value, key, this);
  }
}
