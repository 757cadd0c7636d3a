// A hash table keyed by packed prefixes (address words + length, bgp/wire/prefix-list.ts) that
// keeps insertion order and has live cursors: the Loc-RIB, the Adj-RIB-Out's sent and dirty
// sets.
//
// Intent: a JS Map keyed by prefix strings costs a string per prefix and hashing it on every
// lookup; here an IPv4 prefix is a few words in typed arrays and one hash of those words. The
// semantics are those of a JS Map, which the RIB is written against:
// - Iteration follows insertion order, and a cursor is live: entries added after it started
//   are visited, deleted ones are skipped, and deleting or replacing the entry it is on is
//   safe. The Adj-RIB-Out's initial dump, the deferred peer flush and paged route listings
//   all rely on that.
// Layout: entries are appended to dense arrays (key words, length, value slot) in insertion order;
// a deleted entry stays as a hole (length HOLE) until the arrays are compacted. Values are kept
// once each in a small slot array with reference counts, and an entry holds a slot number: the
// tables hold few distinct values (a Loc-RIB entry is one of a peer's shared paths unless it has
// several paths; a sent entry is one of the exported sets), and a JS array of a million pointers
// costs a write barrier per store, copying as it grows, and scanning by the garbage collector;
// unique values (a Dest per multipath prefix) cost a Map entry instead. Each entry's key hash is
// kept too (`#hashes`), so growing and deleting never rehash a key. The index is an open-addressing
// hash with linear probing over one-word slots [(entry + 1) << 8 | 8 bits of the hash], at most
// half full: a probe reads the entry's key only when those 8 bits match (1 in 256 for another key),
// so a lookup that misses touches one cache line of the index (a JS Map or a chained index costs
// two or three misses, and on a 1M-prefix table nearly every lookup misses the cache). One word a
// slot rather than two (key, tag) halves the index, to 1 MiB at 100k prefixes, which a core's L2
// cache holds, so inserts into a table of that size rarely miss the cache. Deletion shifts the
// following slots back (Knuth's algorithm R): no tombstones. The index is split into PARTS
// partitions by the top hash bits, each growing on its own: doubling one costs 1/PARTS of a full
// rehash, so growing a 1M-prefix table never stalls the event loop for a whole-table rehash.
// Decisions:
// - `addAbsent` adds an UPDATE's block of prefixes with one hash and one probe each, inserting
//   into the empty slot its probe ended on; `find` then `add` would hash and probe twice.
// - Entry indexes are stable except across a compaction, which happens only inside `add` and
//   `addAbsent` (when the arrays are full and mostly holes), `compact` and `clear`: callers must not keep an
//   index across those. Cursors are registered and moved by a compaction, so they survive it.
// - At most 2^24 − 1 entries (holes included) per table: 16.7M prefixes of one family.
// - A cursor stays registered until it is closed, also at the end of the table (so that a
//   dirty queue can keep one cursor for its lifetime). Owners close the cursors they drop: an
//   abandoned one would cost a remap per rebuild for ever.

import { BgpError } from '../errors.ts';
import { formatPrefix, type PrefixList, type PrefixWidth } from '../wire/prefix-list.ts';
import type { AfiCode } from '../wire/types.ts';

/** `#lastValue` when there is none (a value of the table's own type could be anything else). */
const NO_VALUE: unique symbol = Symbol('no value');
/** The length value of a deleted entry (real lengths are 0..128). */
const HOLE = 255;
const MIN_CAPACITY = 16;
/**
 * Where a slot's 8 hash bits come from: above the bits that pick the slot, in all but the
 * largest partitions.
 */
const TAG_SHIFT = 18;
/** Index partitions (a power of two) and the shift that takes a hash to its partition. */
const PARTS = 64;
const PART_SHIFT = 26;
/** Slots of the smallest partition. */
const MIN_PART_SLOTS = 16;
/** Entries from which `warm` prefetches (its index is then ≥ 4 MiB). */
const WARM_MIN_ENTRIES = 1 << 18;

/** A live position in a PrefixTable (see the file header). */
export class TableCursor {
  /** The next entry index to examine. */
  pos = 0;
  readonly #table: PrefixTable<unknown>;

  constructor(table: PrefixTable<unknown>) {
    this.#table = table;
  }

  /**
   * The next live entry's index, or -1 at the end. A cursor at the end stays live: entries
   * added later are still visited by the next call.
   */
  next(): number {
    const i = this.#table.nextLive(this.pos);
    if (i >= 0) this.pos = i + 1;
    return i;
  }

  /** Stops following the table's rebuilds; every owner closes its cursors when done. */
  close(): void {
    this.#table.release(this);
  }
}

/** PrefixTable construction options. */
export interface PrefixTableOptions<V> {
  /** Entries to make room for at once (default 16). */
  readonly capacity?: number;
  /**
   * Whether a value is (or may be) held by many entries: those are kept once, in a slot. A value
   * false is returned for is held by its one entry alone and kept per entry, with no lookup (the
   * Loc-RIB's Dest of a multipath prefix). Default: every value is shared.
   */
  readonly isShared?: (value: V) => boolean;
}

/** Entries one table can index (the slot's entry field is 24 bits). */
export const MAX_TABLE_ENTRIES = 0xffffff;

export class PrefixTable<V> {
  readonly afi: AfiCode;
  readonly width: PrefixWidth;
  #keys: Uint32Array;
  #lens: Uint8Array;
  /** Per entry: the hash of its key (`hash1`, `hash4`). */
  #hashes: Uint32Array;
  /** Per entry: the slot of its value in `#objs`, or 0 (a hole, or a value in `#own`). */
  #vals: Uint32Array;
  /** Per entry, made on first use: a value that is not shared (PrefixTableOptions.isShared). */
  #own: (V | undefined)[] | undefined;
  readonly #isShared: ((value: V) => boolean) | undefined;
  /**
   * The distinct values, by slot (slot 0 is never used), and how many entries hold each: tables
   * hold few distinct values (a Loc-RIB's shared paths, a peer's exported sets), so an entry
   * costs 4 bytes and no pointer — no 1M-element array for the collector to scan, and no write
   * barrier per store.
   */
  #objs: (V | undefined)[] = [undefined];
  #refs = new Uint32Array(16);
  readonly #slotOf = new Map<V, number>();
  readonly #freeSlots: number[] = [];
  /** The value stored last and its slot: a block of entries sharing a value looks it up once. */
  #lastValue: V | typeof NO_VALUE = NO_VALUE;
  #lastSlot = 0;
  /** The index partitions: one word a slot (see the file header); 0 = empty. */
  readonly #parts: Uint32Array[] = [];
  /** Per partition: slot count − 1 (slot counts are powers of two). */
  readonly #masks = new Int32Array(PARTS);
  /** Per partition: slots in use. */
  readonly #counts = new Int32Array(PARTS);
  /** Entries appended since the last compaction, holes included. */
  #used = 0;
  #size = 0;
  readonly #cursors = new Set<TableCursor>();
  /** `warm`'s sink. */
  #warmth = 0;

  constructor(afi: AfiCode, options: PrefixTableOptions<V> = {}) {
    this.afi = afi;
    this.width = afi === 1 ? 1 : 4;
    this.#isShared = options.isShared;
    const cap = capacityFor(options.capacity ?? MIN_CAPACITY);
    this.#keys = new Uint32Array(cap * this.width);
    this.#lens = new Uint8Array(cap);
    this.#hashes = new Uint32Array(cap);
    this.#vals = new Uint32Array(cap);
    this.#resetIndex(cap);
  }

  /** Live entries. */
  get size(): number {
    return this.#size;
  }

  /** Distinct values the entries hold (each is kept once, however many entries hold it). */
  get valueCount(): number {
    return this.#slotOf.size;
  }

  /** The key words of every entry: entry i's start at `i * width`. Replaced when the table grows. */
  get keys(): Uint32Array {
    return this.#keys;
  }

  lenAt(i: number): number {
    return this.#lens[i] as number;
  }

  valueAt(i: number): V {
    const slot = this.#vals[i] as number;
    return (slot !== 0 ? this.#objs[slot] : this.#own?.[i]) as V;
  }

  /** Replaces the value of live entry i. */
  setAt(i: number, value: V): void {
    this.#unref(this.#vals[i] as number);
    this.#store(i, value);
  }

  /** Stores the value of entry i, whose previous value (if any) is let go of. */
  #store(i: number, value: V): void {
    if (this.#isShared !== undefined && !this.#isShared(value)) {
      this.#vals[i] = 0;
      this.#ownArray()[i] = value;
      return;
    }
    const slot = this.#slotFor(value);
    this.#refs[slot] = (this.#refs[slot] as number) + 1;
    this.#vals[i] = slot;
    if (this.#own !== undefined) this.#own[i] = undefined;
  }

  #ownArray(): (V | undefined)[] {
    this.#own ??= new Array<V | undefined>(this.#lens.length).fill(undefined);
    return this.#own;
  }

  /** The canonical text of entry i's prefix. */
  prefixAt(i: number): string {
    return formatPrefix(this.width, this.#keys, i * this.width, this.#lens[i] as number);
  }

  /** The entry index of the prefix at `words[at]`/`len`, or -1. */
  find(words: ArrayLike<number>, at: number, len: number): number {
    const h = this.#hash(words, at, len);
    const p = h >>> PART_SHIFT;
    const s = this.#probe(words, at, len, h, this.#parts[p] as Uint32Array, this.#masks[p] as number);
    return s < 0 ? -s - 1 : -1;
  }

  /** The hash of the prefix at `words[at]`/`len`. */
  #hash(words: ArrayLike<number>, at: number, len: number): number {
    return this.width === 1 ? hash1(words[at] as number, len) : hash4(words, at, len);
  }

  /**
   * Looks for the prefix at `words[at]`/`len`, of hash `h`, in its partition's `slots`: −(entry
   * + 1) when it is there, else the empty slot where the probe ended (where it would go).
   */
  #probe(
    words: ArrayLike<number>,
    at: number,
    len: number,
    h: number,
    slots: Uint32Array,
    mask: number,
  ): number {
    const tag = (h >>> TAG_SHIFT) & 0xff;
    const keys = this.#keys;
    const lens = this.#lens;
    const w = this.width;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = slots[s] as number;
      if (v === 0) return s;
      if ((v & 0xff) !== tag) continue;
      const e = (v >>> 8) - 1;
      if (lens[e] !== len) continue;
      if (w === 1) {
        if (keys[e] === words[at]) return -(e + 1);
        continue;
      }
      const o = e * 4;
      if (
        keys[o] === words[at] &&
        keys[o + 1] === words[at + 1] &&
        keys[o + 2] === words[at + 2] &&
        keys[o + 3] === words[at + 3]
      ) {
        return -(e + 1);
      }
    }
  }

  /**
   * Reads the home slot of every prefix of `list` (of this table's family) so that the lookups that
   * follow find their cache lines loaded. A software prefetch: these loads are independent and the
   * CPU overlaps them, while each lookup's load decides its next step and waits. It pays off on a
   * large table, whose index does not fit the caches; a smaller table's index mostly stays in the
   * caches, and the second pass only costs, so below WARM_MIN_ENTRIES it does nothing.
   */
  warm(list: PrefixList): void {
    if (this.#size < WARM_MIN_ENTRIES) return;
    const words = list.words;
    const lens = list.lens;
    const parts = this.#parts;
    const masks = this.#masks;
    let x = 0;
    for (let i = 0; i < list.length; i++) {
      const h = this.#hash(words, i * this.width, lens[i] as number);
      const p = h >>> PART_SHIFT;
      x ^= (parts[p] as Uint32Array)[h & (masks[p] as number)] as number;
    }
    // Kept, so that the loads are not optimised away.
    this.#warmth ^= x;
  }

  get(words: ArrayLike<number>, at: number, len: number): V | undefined {
    const i = this.find(words, at, len);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /**
   * Appends an entry for a prefix that is not in the table (check with `find` first) and
   * returns its index. May compact the table (see the file header).
   */
  add(words: ArrayLike<number>, at: number, len: number, value: V): number {
    if (this.#used === this.#lens.length || this.#used === MAX_TABLE_ENTRIES) this.#reserve(1);
    const i = this.#used++;
    const keys = this.#keys;
    if (this.width === 1) {
      keys[i] = words[at] as number;
    } else {
      const o = i * 4;
      keys[o] = words[at] as number;
      keys[o + 1] = words[at + 1] as number;
      keys[o + 2] = words[at + 2] as number;
      keys[o + 3] = words[at + 3] as number;
    }
    this.#lens[i] = len;
    this.#hashes[i] = this.#hash(words, at, len);
    this.#store(i, value);
    this.#index(i);
    this.#size++;
    return i;
  }

  /**
   * Adds every prefix of `list` (of this table's family) that is absent, with `value`, hashing
   * and probing each once. `found[i]` gets prefix i's entry: its index when it was already there,
   * or −(index + 1) when this call added it (a prefix listed twice is added once, then found).
   * Room is made first, so no compaction moves an entry during the call. Returns how many were added.
   * `value` must be a shared one (PrefixTableOptions.isShared).
   */
  addAbsent(list: PrefixList, value: V, found: Int32Array): number {
    if (this.#isShared !== undefined && !this.#isShared(value)) {
      throw new BgpError(
        'BGP_ERR_INVALID_CONFIG',
        'addAbsent stores one value in many entries: it must be shared',
      );
    }
    const n = list.length;
    this.#reserve(n);
    const words = list.words;
    const lens = list.lens;
    const keys = this.#keys;
    const entryLens = this.#lens;
    const hashes = this.#hashes;
    const vals = this.#vals;
    const slot = this.#slotFor(value);
    const parts = this.#parts;
    const masks = this.#masks;
    const counts = this.#counts;
    const w = this.width;
    let used = this.#used;
    const first = used;
    for (let i = 0; i < n; i++) {
      const at = i * w;
      const len = lens[i] as number;
      const h = this.#hash(words, at, len);
      const p = h >>> PART_SHIFT;
      if (((counts[p] as number) + 1) * 2 > (masks[p] as number) + 1) this.#growPart(p);
      const slots = parts[p] as Uint32Array;
      const s = this.#probe(words, at, len, h, slots, masks[p] as number);
      if (s < 0) {
        found[i] = -s - 1;
        continue;
      }
      const e = used++;
      if (w === 1) {
        keys[e] = words[at] as number;
      } else {
        for (let k = 0; k < 4; k++) keys[e * 4 + k] = words[at + k] as number;
      }
      entryLens[e] = len;
      hashes[e] = h;
      vals[e] = slot;
      slots[s] = slotValue(e, h);
      counts[p] = (counts[p] as number) + 1;
      found[i] = -(e + 1);
    }
    this.#used = used;
    this.#size += used - first;
    this.#refs[slot] = (this.#refs[slot] as number) + (used - first);
    this.#unref(slot, 0);
    return used - first;
  }

  /** Sets the value of a prefix, adding it when absent; returns its entry index. */
  set(words: ArrayLike<number>, at: number, len: number, value: V): number {
    const i = this.find(words, at, len);
    if (i < 0) return this.add(words, at, len, value);
    this.setAt(i, value);
    return i;
  }

  /** Removes live entry i (its index becomes a hole; its key words stay readable). */
  deleteAt(i: number): void {
    const hashes = this.#hashes;
    const h = hashes[i] as number;
    const p = h >>> PART_SHIFT;
    const slots = this.#parts[p] as Uint32Array;
    const mask = this.#masks[p] as number;
    const mine = slotValue(i, h);
    let s = h & mask;
    while (slots[s] !== mine) s = (s + 1) & mask;
    // Algorithm R: move back every following slot whose home does not lie in (s, j].
    for (let j = (s + 1) & mask; ; j = (j + 1) & mask) {
      const v = slots[j] as number;
      if (v === 0) break;
      const home = (hashes[(v >>> 8) - 1] as number) & mask;
      const stays = s <= j ? s < home && home <= j : s < home || home <= j;
      if (stays) continue;
      slots[s] = v;
      s = j;
    }
    slots[s] = 0;
    this.#counts[p] = (this.#counts[p] as number) - 1;
    this.#lens[i] = HOLE;
    this.#unref(this.#vals[i] as number);
    this.#vals[i] = 0;
    if (this.#own !== undefined) this.#own[i] = undefined;
    this.#size--;
  }

  /** Removes a prefix; false when it was absent. */
  delete(words: ArrayLike<number>, at: number, len: number): boolean {
    const i = this.find(words, at, len);
    if (i < 0) return false;
    this.deleteAt(i);
    return true;
  }

  /** Removes every entry; cursors continue at the (empty) end. */
  clear(): void {
    this.#lens.fill(HOLE, 0, this.#used);
    this.#size = 0;
    this.#objs = [undefined];
    this.#refs = new Uint32Array(16);
    this.#slotOf.clear();
    this.#freeSlots.length = 0;
    this.#lastValue = NO_VALUE;
    this.#compactInto(MIN_CAPACITY);
  }

  /**
   * Gives back the room of deleted entries once they are most of the table (a peer's full
   * table withdrawn). A compaction: entry indexes change, cursors follow.
   */
  compact(): void {
    const cap = this.#lens.length;
    if (cap > MIN_CAPACITY && this.#size < cap >> 2) this.#compactInto(capacityFor(this.#size * 2));
  }

  /** A live cursor from the first entry; close it when done. */
  cursor(): TableCursor {
    const c = new TableCursor(this as PrefixTable<unknown>);
    this.#cursors.add(c);
    return c;
  }

  /** The first live entry index at or after `from`, or -1. */
  nextLive(from: number): number {
    const lens = this.#lens;
    const used = this.#used;
    for (let i = from; i < used; i++) if (lens[i] !== HOLE) return i;
    return -1;
  }

  /** Cursor bookkeeping (TableCursor.close). */
  release(cursor: TableCursor): void {
    this.#cursors.delete(cursor);
  }

  /** Live entries in insertion order: [prefix text, value]. For tests and small tables. */
  *entries(): IterableIterator<[string, V]> {
    const c = this.cursor();
    try {
      for (let i = c.next(); i >= 0; i = c.next()) yield [this.prefixAt(i), this.valueAt(i)];
    } finally {
      c.close();
    }
  }

  /** Puts live entry i, whose hash is set, into the index. */
  #index(i: number): void {
    const h = this.#hashes[i] as number;
    const p = h >>> PART_SHIFT;
    const count = (this.#counts[p] as number) + 1;
    this.#counts[p] = count;
    if (count * 2 > (this.#masks[p] as number) + 1) this.#growPart(p);
    const slots = this.#parts[p] as Uint32Array;
    const mask = this.#masks[p] as number;
    let s = h & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = slotValue(i, h);
  }

  /** Doubles one partition of the index. */
  #growPart(p: number): void {
    const old = this.#parts[p] as Uint32Array;
    const hashes = this.#hashes;
    const n = old.length * 2;
    const slots = new Uint32Array(n);
    const mask = n - 1;
    for (let j = 0; j < old.length; j++) {
      const v = old[j] as number;
      if (v === 0) continue;
      let s = (hashes[(v >>> 8) - 1] as number) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = v;
    }
    this.#parts[p] = slots;
    this.#masks[p] = mask;
  }

  /** An empty index sized for `capacity` entries. */
  #resetIndex(capacity: number): void {
    let slots = MIN_PART_SLOTS;
    while (slots * PARTS < capacity * 2) slots *= 2;
    for (let p = 0; p < PARTS; p++) {
      this.#parts[p] = new Uint32Array(slots);
      this.#masks[p] = slots - 1;
    }
    this.#counts.fill(0);
  }

  /**
   * Room for `n` more entries: compacts when the holes give it, else grows. Entry indexes stay
   * below MAX_TABLE_ENTRIES, the most an index slot can name; growing keeps the indexes, so near
   * that limit only a compaction makes room.
   */
  #reserve(n: number): void {
    if (this.#size + n > MAX_TABLE_ENTRIES) {
      throw new BgpError('BGP_ERR_MAX_PREFIX', `more than ${MAX_TABLE_ENTRIES} prefixes in one table`);
    }
    const cap = this.#lens.length;
    const end = this.#used + n;
    if (end <= cap && end <= MAX_TABLE_ENTRIES) return;
    if (this.#size + n <= cap >> 1) {
      this.#compactInto(cap);
      return;
    }
    if (end > MAX_TABLE_ENTRIES) {
      this.#compactInto(Math.max(cap, capacityFor(this.#size + n)));
      return;
    }
    let next = cap * 2;
    while (end > next) next *= 2;
    // The entries keep their indexes: the index stays valid, its partitions grow on their own.
    const keys = new Uint32Array(next * this.width);
    keys.set(this.#keys);
    this.#keys = keys;
    const lens = new Uint8Array(next);
    lens.set(this.#lens);
    this.#lens = lens;
    const hashes = new Uint32Array(next);
    hashes.set(this.#hashes);
    this.#hashes = hashes;
    const vals = new Uint32Array(next);
    vals.set(this.#vals);
    this.#vals = vals;
    const own = this.#own;
    if (own !== undefined) {
      const grown = new Array<V | undefined>(next).fill(undefined);
      for (let i = 0; i < cap; i++) grown[i] = own[i];
      this.#own = grown;
    }
  }

  /** The slot of `value`, given one (with no reference yet) if it has none. */
  #slotFor(value: V): number {
    if (value === this.#lastValue) return this.#lastSlot;
    let slot = this.#slotOf.get(value);
    if (slot === undefined) {
      slot = this.#freeSlots.pop() ?? this.#objs.length;
      if (slot >= this.#refs.length) {
        const refs = new Uint32Array(this.#refs.length * 2);
        refs.set(this.#refs);
        this.#refs = refs;
      }
      this.#objs[slot] = value;
      this.#slotOf.set(value, slot);
    }
    this.#lastValue = value;
    this.#lastSlot = slot;
    return slot;
  }

  /** Drops `count` references to a slot (0: only frees one `#slotFor` gave but nothing took). */
  #unref(slot: number, count = 1): void {
    if (slot === 0) return;
    const refs = (this.#refs[slot] as number) - count;
    this.#refs[slot] = refs;
    if (refs > 0) return;
    this.#slotOf.delete(this.#objs[slot] as V);
    this.#objs[slot] = undefined;
    this.#freeSlots.push(slot);
    if (this.#lastSlot === slot) this.#lastValue = NO_VALUE;
  }

  /** Moves the live entries to the front of arrays of `capacity` entries; cursors follow. */
  #compactInto(capacity: number): void {
    const w = this.width;
    const oldKeys = this.#keys;
    const oldLens = this.#lens;
    const oldHashes = this.#hashes;
    const oldVals = this.#vals;
    const oldOwn = this.#own;
    const used = this.#used;
    // Cursor positions in old indexes, in ascending order, remapped in one pass.
    const cursors = [...this.#cursors].sort((a, b) => a.pos - b.pos);
    let ci = 0;
    const keys = new Uint32Array(capacity * w);
    const lens = new Uint8Array(capacity);
    const hashes = new Uint32Array(capacity);
    const vals = new Uint32Array(capacity);
    const own = oldOwn === undefined ? undefined : new Array<V | undefined>(capacity).fill(undefined);
    let n = 0;
    for (let i = 0; i < used; i++) {
      while (ci < cursors.length && (cursors[ci] as TableCursor).pos <= i)
        (cursors[ci++] as TableCursor).pos = n;
      if (oldLens[i] === HOLE) continue;
      if (w === 1) {
        keys[n] = oldKeys[i] as number;
      } else {
        for (let k = 0; k < 4; k++) keys[n * 4 + k] = oldKeys[i * 4 + k] as number;
      }
      lens[n] = oldLens[i] as number;
      hashes[n] = oldHashes[i] as number;
      vals[n] = oldVals[i] as number;
      if (own !== undefined) own[n] = (oldOwn as (V | undefined)[])[i];
      n++;
    }
    while (ci < cursors.length) (cursors[ci++] as TableCursor).pos = n;
    this.#vals = vals;
    this.#own = own;
    this.#keys = keys;
    this.#lens = lens;
    this.#hashes = hashes;
    this.#used = n;
    this.#resetIndex(capacity);
    for (let i = 0; i < n; i++) this.#index(i);
  }
}

/** The index slot of entry `e`, whose key hash is `h`: (e + 1) << 8 | 8 bits of `h`. */
function slotValue(e: number, h: number): number {
  return ((e + 1) * 256 + ((h >>> TAG_SHIFT) & 0xff)) >>> 0;
}

function capacityFor(n: number): number {
  let cap = MIN_CAPACITY;
  while (cap < n) cap *= 2;
  return cap;
}

/** The hash of an IPv4 key (murmur3's finalizer over address and length). */
function hash1(w0: number, len: number): number {
  let h = Math.imul(len + 1, 0x9e3779b1) ^ w0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The hash of an IPv6 key. */
function hash4(words: ArrayLike<number>, at: number, len: number): number {
  let h = Math.imul(len + 1, 0x9e3779b1) ^ (words[at] as number);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ (words[at + 1] as number);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) ^ (words[at + 2] as number);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ (words[at + 3] as number);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
