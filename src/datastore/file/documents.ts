// Reading a new text of the datastore file against the text before it, so that a change costs
// what changed: the pieces (parse.ts) whose text is unchanged keep their parse, and with it their
// very Resource objects; only new pieces are parsed; the per-object changes come from the pieces
// that went and came.
//
// Finding the unchanged pieces: most saves change a few documents in place, add some at the end
// or drop some. The bytes both texts begin with and end with are compared natively; the pieces
// of the old text inside that common beginning (with the marker line after them) or common end
// (with the line break before them) are unchanged and stay where they are (shifted by the
// difference in length at the end). What lies between is split into pieces again, and a piece
// whose text equals one of the old pieces between (a moved document) takes its parse; the rest
// are parsed.
import type { Resource, ResourceKind } from '../../model/resource.ts';
import { resourceKey } from '../../model/resource.ts';
import type { ResourceChange, Snapshot } from '../../model/snapshot.ts';
import { SNAPSHOT_FIELD, sameResource } from '../../model/snapshot.ts';
import { hasDirectives, type Piece, pieceStarts, type Step } from './parse.ts';
import { PieceList } from './piece-list.ts';

/** A text of the file and its pieces. */
export interface FileDocuments {
  readonly data: Buffer;
  /** The pieces and where each starts; a piece ends where the next starts, the last at the end. */
  readonly list: PieceList;
  /** How many of the pieces are troubled (a syntax problem or an invalid object). */
  readonly troubled: number;
  /** The text has a line that starts with "%" and is one piece (parse.ts). */
  readonly directives: boolean;
}

/** No text, with chunks of `chunkSize` pieces (tests use small ones to have many chunks). */
export function noDocuments(chunkSize?: number): FileDocuments {
  return { data: Buffer.alloc(0), list: PieceList.empty(chunkSize), troubled: 0, directives: false };
}

export const NO_DOCUMENTS: FileDocuments = noDocuments();

export interface Reread {
  readonly documents: FileDocuments;
  /** Pieces of the new text that are not in the old one (parsed for it). */
  readonly added: readonly Piece[];
  /** Pieces of the old text that are not in the new one. */
  readonly removed: readonly Piece[];
}

/** Compared in blocks this long, each one native comparison. */
const BLOCK = 1 << 16;

/** How many bytes `a` and `b` begin with in common. */
export function commonPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let at = 0;
  while (at < n) {
    const end = Math.min(n, at + BLOCK);
    if (a.compare(b, at, end, at, end) !== 0) break;
    at = end;
  }
  while (at < n && a[at] === b[at]) at++;
  return at;
}

/** How many bytes `a` and `b` end with in common, at most `limit`. */
export function commonSuffix(a: Buffer, b: Buffer, limit: number): number {
  const n = Math.min(a.length, b.length, limit);
  let common = 0;
  while (common < n) {
    const next = Math.min(n, common + BLOCK);
    if (a.compare(b, b.length - next, b.length - common, a.length - next, a.length - common) !== 0) break;
    common = next;
  }
  while (common < n && a[a.length - 1 - common] === b[b.length - 1 - common]) common++;
  return common;
}

/**
 * The pieces of `data`, reusing those of `base` (see the header). Yields between pieces, and
 * once with the texts of the new pieces to parse (parse.ts Step).
 */
export function* reread(
  base: FileDocuments,
  data: Buffer,
): Generator<Step, Reread, readonly Piece[] | undefined> {
  const old = base.data;
  const list = base.list;
  const n = list.length;
  const end = (i: number) => (i + 1 < n ? list.start(i + 1) : old.length);
  // Pieces of the old text kept at their place: [0, keepHead) and [keepTail, n).
  let keepHead = 0;
  let keepTail = n;
  if (!base.directives && n > 0) {
    const prefix = commonPrefix(old, data);
    const suffix = commonSuffix(old, data, Math.min(old.length, data.length) - prefix);
    // Piece i is unchanged when it and the marker that ends it ("---" and the byte after) are
    // common: when piece i + 1 starts at or before prefix - 4. The last piece is never kept so.
    keepHead = Math.max(0, Math.min(n - 1, list.firstAfter(prefix - 4) - 1));
    // Piece j is unchanged when it and the line break before its marker are common: when it
    // starts after the old text's uncommon part ends. Piece 0 and the head are never kept so.
    const tail = old.length - suffix;
    keepTail = Math.min(n, Math.max(list.firstAfter(tail), keepHead + 1, 1));
  }
  yield;
  const shift = data.length - old.length;
  let from = keepHead < n ? list.start(keepHead) : 0;
  let to = keepTail < n ? list.start(keepTail) + shift : data.length;
  // The kept pieces have no directive (the old text would be one piece); the rest is looked at.
  const whole = hasDirectives(data, from, to);
  if (whole) {
    keepHead = 0;
    keepTail = n;
    from = 0;
    to = data.length;
  }
  const middle: number[] = [];
  if (whole) {
    if (data.length > 0) middle.push(0);
  } else yield* pieceStarts(data, from, to, middle);
  // The old pieces in between, by text, for a piece that only moved.
  const oldByText = new Map<string, number[]>();
  if (middle.length > 0) {
    for (let i = keepHead; i < keepTail; i++) {
      const text = old.toString('utf8', list.start(i), end(i));
      const same = oldByText.get(text);
      if (same === undefined) oldByText.set(text, [i]);
      else same.push(i);
      yield;
    }
  }
  const taken = new Set<number>();
  const middlePieces: (Piece | undefined)[] = [];
  const fresh: number[] = [];
  const texts: string[] = [];
  for (let i = 0; i < middle.length; i++) {
    const text = data.toString('utf8', middle[i]!, middle[i + 1] ?? to);
    const same = oldByText.get(text)?.shift();
    if (same !== undefined) {
      taken.add(same);
      middlePieces.push(list.piece(same));
    } else {
      middlePieces.push(undefined);
      fresh.push(i);
      texts.push(text);
    }
    yield;
  }
  const added = texts.length === 0 ? [] : yield { parse: texts };
  if (added === undefined || added.length !== texts.length)
    throw new Error(`reread: ${texts.length} pieces to parse, ${added?.length ?? 'no'} parsed`);
  fresh.forEach((at, k) => {
    middlePieces[at] = added[k];
  });
  const removed: Piece[] = [];
  for (let i = keepHead; i < keepTail; i++) if (!taken.has(i)) removed.push(list.piece(i));
  const troubled =
    base.troubled - removed.filter((p) => p.troubled).length + added.filter((p) => p.troubled).length;
  // The kept pieces stay in their chunks; only the chunks around the change are rebuilt.
  const next = list.splice(keepHead, keepTail, middle, middlePieces as Piece[], shift);
  return { documents: { data, list: next, troubled, directives: whole }, added, removed };
}

/**
 * The per-object changes from `previous` (the snapshot of the old text) when the pieces `removed`
 * went and `added` came, every piece untroubled; in diffSnapshots' order. An object in an added
 * piece equal to the one in force is no change, and the snapshot keeps the object in force.
 * Undefined when the new text defines an object twice (the caller then says where).
 */
export function changesOf(
  previous: Snapshot,
  added: readonly Piece[],
  removed: readonly Piece[],
): ResourceChange[] | undefined {
  const id = (r: Resource) => `${r.kind}\u0000${resourceKey(r)}`;
  const went = new Map<string, Resource>();
  for (const piece of removed)
    for (const o of piece.objects) if (o.resource) went.set(id(o.resource), o.resource);
  const came = new Map<string, Resource>();
  for (const piece of added) {
    for (const o of piece.objects) {
      const r = o.resource;
      if (r === undefined) continue;
      const key = id(r);
      if (came.has(key)) return undefined;
      // Still in force and not in a removed piece: it is in a piece that stays.
      if (
        !went.has(key) &&
        (previous[SNAPSHOT_FIELD[r.kind]] as ReadonlyMap<string, Resource>).has(resourceKey(r))
      )
        return undefined;
      came.set(key, r);
    }
  }
  const byKind = new Map<ResourceKind, { upserts: ResourceChange[]; deletes: ResourceChange[] }>();
  const of = (kind: ResourceKind) => {
    let entry = byKind.get(kind);
    if (entry === undefined) {
      entry = { upserts: [], deletes: [] };
      byKind.set(kind, entry);
    }
    return entry;
  };
  for (const r of came.values()) {
    const key = resourceKey(r);
    const before = (previous[SNAPSHOT_FIELD[r.kind]] as ReadonlyMap<string, Resource>).get(key);
    if (before === undefined) of(r.kind).upserts.push({ type: 'added', kind: r.kind, key, resource: r });
    else if (!sameResource(before, r))
      of(r.kind).upserts.push({ type: 'modified', kind: r.kind, key, resource: r, previous: before });
  }
  for (const [k, r] of went) {
    if (came.has(k)) continue;
    const key = resourceKey(r);
    const before = (previous[SNAPSHOT_FIELD[r.kind]] as ReadonlyMap<string, Resource>).get(key) ?? r;
    of(r.kind).deletes.push({ type: 'deleted', kind: r.kind, key, resource: before });
  }
  const byKey = (a: ResourceChange, b: ResourceChange) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const changes: ResourceChange[] = [];
  for (const kind of Object.keys(SNAPSHOT_FIELD) as ResourceKind[]) {
    const entry = byKind.get(kind);
    if (entry === undefined) continue;
    changes.push(...entry.upserts.sort(byKey), ...entry.deletes.sort(byKey));
  }
  return changes;
}
