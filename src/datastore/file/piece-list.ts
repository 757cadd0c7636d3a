// The pieces of a text of the datastore file (parse.ts) and where each starts, kept in chunks so
// that a save which changes a few pieces copies the chunks around them, not the whole list. A
// flat list of tens of thousands of entries copied on every save is an object above V8's size
// for regular objects: it is allocated straight in the old generation, which only a major
// collection frees, so every save would bring the next major collection closer.
//
// Each chunk holds its pieces and their starts relative to the chunk's first, so that the pieces
// after a change whose length differs stay in their chunks and only the chunks' own starts move.
// Chunks hold between half a chunk size and a chunk size of pieces (fewer when the whole list is
// that short): a splice rebuilds the chunks it touches, with a neighbour when what is left of them
// is short, and splits the result evenly.
import type { Piece } from './parse.ts';

/** Pieces per chunk: a chunk's two arrays stay far below the size of a large object. */
export const CHUNK_SIZE = 1024;

interface Chunk {
  /** The starts of the chunk's pieces, less the start of its first (so the first is 0). */
  readonly offsets: readonly number[];
  readonly pieces: readonly Piece[];
}

export class PieceList {
  readonly length: number;
  readonly chunkSize: number;
  readonly #chunks: readonly Chunk[];
  /** Where each chunk's first piece starts in the text. */
  readonly #bases: readonly number[];
  /** The index in the list of each chunk's first piece. */
  readonly #firsts: readonly number[];

  private constructor(chunkSize: number, chunks: readonly Chunk[], bases: readonly number[]) {
    this.chunkSize = chunkSize;
    this.#chunks = chunks;
    this.#bases = bases;
    const firsts: number[] = [];
    let length = 0;
    for (const c of chunks) {
      firsts.push(length);
      length += c.pieces.length;
    }
    this.#firsts = firsts;
    this.length = length;
  }

  /** An empty list whose chunks hold up to `chunkSize` pieces (at least 2). */
  static empty(chunkSize = CHUNK_SIZE): PieceList {
    if (!Number.isInteger(chunkSize) || chunkSize < 2) throw new Error(`PieceList: chunk size ${chunkSize}`);
    return new PieceList(chunkSize, [], []);
  }

  /** Where piece `i` (0 ≤ i < length) starts. */
  start(i: number): number {
    const c = this.#chunkOf(i);
    return this.#bases[c]! + this.#chunks[c]!.offsets[i - this.#firsts[c]!]!;
  }

  piece(i: number): Piece {
    const c = this.#chunkOf(i);
    return this.#chunks[c]!.pieces[i - this.#firsts[c]!]!;
  }

  /** The index of the first piece that starts after `at`, or the length when none does. */
  firstAfter(at: number): number {
    // The last chunk whose base is at or before `at`; every piece before it starts at or before.
    let lo = 0;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#bases[mid]! <= at) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return 0;
    const c = lo - 1;
    const offsets = this.#chunks[c]!.offsets;
    const rel = at - this.#bases[c]!;
    let a = 0;
    let b = offsets.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (offsets[mid]! <= rel) a = mid + 1;
      else b = mid;
    }
    return this.#firsts[c]! + a;
  }

  /**
   * The list with the pieces [from, to) replaced by `pieces` starting at `starts` (in the new
   * text), and the start of each piece from `to` on moved by `shift`.
   */
  splice(
    from: number,
    to: number,
    starts: readonly number[],
    pieces: readonly Piece[],
    shift: number,
  ): PieceList {
    if (!(0 <= from && from <= to && to <= this.length) || starts.length !== pieces.length)
      throw new Error(`PieceList.splice(${from}, ${to}) of ${this.length} with ${starts.length} starts`);
    const chunks = this.#chunks;
    const last = chunks.length - 1;
    // The chunks [c1, c2] are rebuilt: those holding `from` and `to` (the last chunk for the end).
    let c1 = last < 0 ? 0 : this.#chunkOf(Math.min(from, this.length - 1));
    let c2 = last < 0 ? -1 : to < this.length ? this.#chunkOf(to) : last;
    const regionStarts: number[] = [];
    const regionPieces: Piece[] = [];
    const keep = (c: number, fromIndex: number, toIndex: number, by: number) => {
      const { offsets, pieces: chunkPieces } = chunks[c]!;
      const base = this.#bases[c]! + by;
      for (let k = fromIndex; k < toIndex; k++) {
        regionStarts.push(base + offsets[k]!);
        regionPieces.push(chunkPieces[k]!);
      }
    };
    if (c1 <= last) keep(c1, 0, from - this.#firsts[c1]!, 0);
    for (let k = 0; k < starts.length; k++) {
      regionStarts.push(starts[k]!);
      regionPieces.push(pieces[k]!);
    }
    if (c2 >= 0 && c2 <= last) keep(c2, to - this.#firsts[c2]!, chunks[c2]!.pieces.length, shift);
    // A short rebuild takes a neighbour in, so that no chunk but a whole list's is shorter than half.
    const half = this.chunkSize >> 1;
    let before: { starts: number[]; pieces: Piece[] } | undefined;
    if (regionPieces.length > 0 && regionPieces.length < half) {
      if (c2 + 1 <= last) {
        c2++;
        keep(c2, 0, chunks[c2]!.pieces.length, shift);
      } else if (c1 > 0) {
        c1--;
        before = { starts: [], pieces: [] };
        const { offsets, pieces: chunkPieces } = chunks[c1]!;
        const base = this.#bases[c1]!;
        for (let k = 0; k < offsets.length; k++) {
          before.starts.push(base + offsets[k]!);
          before.pieces.push(chunkPieces[k]!);
        }
      }
    }
    const allStarts = before ? before.starts.concat(regionStarts) : regionStarts;
    const allPieces = before ? before.pieces.concat(regionPieces) : regionPieces;
    const nextChunks: Chunk[] = chunks.slice(0, c1);
    const nextBases: number[] = this.#bases.slice(0, c1);
    const count = Math.ceil(allPieces.length / this.chunkSize);
    for (let k = 0; k < count; k++) {
      const a = Math.floor((k * allPieces.length) / count);
      const b = Math.floor(((k + 1) * allPieces.length) / count);
      const base = allStarts[a]!;
      nextChunks.push({
        offsets: allStarts.slice(a, b).map((s) => s - base),
        pieces: allPieces.slice(a, b),
      });
      nextBases.push(base);
    }
    for (let c = c2 + 1; c <= last; c++) {
      nextChunks.push(chunks[c]!);
      nextBases.push(this.#bases[c]! + shift);
    }
    return new PieceList(this.chunkSize, nextChunks, nextBases);
  }

  /** Every start, in order. */
  starts(): number[] {
    const out: number[] = [];
    this.#chunks.forEach((c, k) => {
      for (const o of c.offsets) out.push(this.#bases[k]! + o);
    });
    return out;
  }

  /** Every piece, in order. */
  pieces(): Piece[] {
    const out: Piece[] = [];
    for (const c of this.#chunks) for (const p of c.pieces) out.push(p);
    return out;
  }

  /** How many pieces each chunk holds (for tests of the chunks' sizes). */
  chunkLengths(): number[] {
    return this.#chunks.map((c) => c.pieces.length);
  }

  #chunkOf(i: number): number {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`PieceList: index ${i} of ${this.length}`);
    let lo = 0;
    let hi = this.#firsts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#firsts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
