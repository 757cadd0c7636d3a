// The chunked list of a datastore text's pieces (piece-list.ts) must read like the flat list it
// stands for after any sequence of splices: the same starts and pieces in order, `firstAfter` the
// first start past a point, and chunks that stay between half the chunk size and the chunk size
// (a list of many short chunks would cost a lookup what a flat list costs a copy).
//
// The reference is a flat list of pieces of random lengths laid end to end; a splice replaces a
// random range with new pieces and moves the starts after it by the difference in length.
// Seed: FC_SEED=<n> replays.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Piece } from '../../src/datastore/file/parse.ts';
import { PieceList } from '../../src/datastore/file/piece-list.ts';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;

/** A piece that says which one it is; the list never looks inside. */
const pieceNo = (n: number): Piece => ({ objects: [], troubled: false, n }) as unknown as Piece;

const spliceArb = fc.record({
  from: fc.nat(),
  span: fc.nat({ max: 12 }),
  lengths: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 14 }),
});

describe('the chunked piece list', () => {
  it('reads like the flat list after any splices, with chunks of half to one chunk size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.array(spliceArb, { minLength: 1, maxLength: 30 }),
        (chunkSize, splices) => {
          let list = PieceList.empty(chunkSize);
          // The reference: each piece's length and identity.
          let lengths: number[] = [];
          let pieces: Piece[] = [];
          let made = 0;
          for (const s of splices) {
            const from = lengths.length === 0 ? 0 : s.from % (lengths.length + 1);
            const to = Math.min(lengths.length, from + s.span);
            const at = lengths.slice(0, from).reduce((a, b) => a + b, 0);
            const fresh = s.lengths.map(() => pieceNo(made++));
            const starts = s.lengths.map((_, k) => at + s.lengths.slice(0, k).reduce((a, b) => a + b, 0));
            const removed = lengths.slice(from, to).reduce((a, b) => a + b, 0);
            const added = s.lengths.reduce((a, b) => a + b, 0);
            list = list.splice(from, to, starts, fresh, added - removed);
            lengths = [...lengths.slice(0, from), ...s.lengths, ...lengths.slice(to)];
            pieces = [...pieces.slice(0, from), ...fresh, ...pieces.slice(to)];

            const expectStarts = lengths.map((_, i) => lengths.slice(0, i).reduce((a, b) => a + b, 0));
            expect(list.length).toBe(lengths.length);
            expect(list.starts()).toEqual(expectStarts);
            expect(list.pieces()).toEqual(pieces);
            expectStarts.forEach((start, i) => {
              expect(list.start(i)).toBe(start);
              expect(list.piece(i)).toBe(pieces[i]);
              expect(list.firstAfter(start - 1)).toBe(i);
              expect(list.firstAfter(start)).toBe(i + 1);
            });
            const chunks = list.chunkLengths();
            for (const l of chunks) {
              expect(l).toBeGreaterThan(0);
              expect(l).toBeLessThanOrEqual(chunkSize);
              if (chunks.length > 1) expect(l).toBeGreaterThanOrEqual(chunkSize >> 1);
            }
          }
        },
      ),
      { numRuns: 300, ...(seed !== undefined ? { seed } : {}) },
    );
  });

  it('refuses a range outside the list and starts that do not match the pieces', () => {
    const list = PieceList.empty(4).splice(0, 0, [0, 5], [pieceNo(0), pieceNo(1)], 0);
    expect(() => list.splice(1, 3, [], [], 0)).toThrow(/splice\(1, 3\) of 2/);
    expect(() => list.splice(0, 0, [0], [], 0)).toThrow(/with 1 starts/);
    expect(() => list.start(2)).toThrow(RangeError);
    expect(() => PieceList.empty(1)).toThrow(/chunk size 1/);
  });
});
