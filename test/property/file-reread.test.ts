// Reading a new text of the datastore file against the old one (documents.ts `reread`) must come
// to what reading the new text from scratch comes to: the same pieces where the same bytes are,
// the same resources or problems once assembled, and, when both texts are valid, the changes a
// diff of the two snapshots gives. Unchanged pieces are not parsed again: every parse is of a
// piece whose text the old file did not have, and each such piece is parsed once.
//
// The old text is a random file (file-fragments.ts) and the new one a few edits of it: fragments
// replaced, added, dropped or moved, the head or the tail changed. The pieces are kept in chunks
// of 2 to 5 pieces (piece-list.ts), so that edits fall across chunks' edges as they do in a big
// file. Seed: FC_SEED=<n> replays.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changesOf, noDocuments, reread } from '../../src/datastore/file/documents.ts';
import { assemble, finish, type Piece, parsePiece, splitPieces } from '../../src/datastore/file/parse.ts';
import { diffSnapshots, snapshotOf } from '../../src/model/snapshot.ts';
import { edit, editArb, fileSpecArb, render } from './file-fragments.ts';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;

const textsOf = (data: Buffer, starts: readonly number[]) =>
  starts.map((s, i) => data.toString('utf8', s, starts[i + 1] ?? data.length));

describe('rereading the file against the text before', () => {
  it('comes to what reading the new text from scratch does, parsing only new pieces', () => {
    fc.assert(
      fc.property(
        fileSpecArb,
        fc.array(editArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2, max: 5 }),
        (spec, edits, chunkSize) => {
          const empty = noDocuments(chunkSize);
          const oldData = Buffer.from(render(spec));
          const newData = Buffer.from(render(edits.reduce(edit, spec)));
          const before = finish(reread(empty, oldData)).documents;
          const parsed: string[] = [];
          const counting = (text: string): Piece => {
            parsed.push(text);
            return parsePiece(text);
          };
          const { documents, added, removed } = finish(reread(before, newData), counting);
          const fresh = finish(reread(empty, newData)).documents;

          const starts = documents.list.starts();
          expect(starts).toEqual(splitPieces(newData));
          starts.forEach((s, i) => {
            expect(documents.list.start(i)).toBe(s);
            expect(documents.list.firstAfter(s - 1)).toBe(i);
          });
          expect(documents.list.pieces()).toEqual(fresh.list.pieces());
          expect(documents.troubled).toBe(fresh.troubled);
          // No chunk holds more than the chunk size, nor less than half of it unless it is the only one.
          const lengths = documents.list.chunkLengths();
          for (const l of lengths) expect(l).toBeLessThanOrEqual(chunkSize);
          if (lengths.length > 1) for (const l of lengths) expect(l).toBeGreaterThanOrEqual(chunkSize >> 1);
          const now = finish(assemble(documents.list.pieces(), 'f'));
          expect(now).toEqual(finish(assemble(fresh.list.pieces(), 'f')));

          // Parsed: the new texts, and an old text only where the new file has it more often.
          const oldTexts = textsOf(oldData, before.list.starts());
          const newTexts = textsOf(newData, starts);
          const count = (list: readonly string[], t: string) => list.filter((x) => x === t).length;
          const distinct =
            new Set(oldTexts).size === oldTexts.length && new Set(newTexts).size === newTexts.length;
          for (const t of new Set([...newTexts, ...parsed])) {
            const [p, n, o] = [count(parsed, t), count(newTexts, t), count(oldTexts, t)];
            expect(p).toBeLessThanOrEqual(n);
            expect(p).toBeGreaterThanOrEqual(n - o);
            if (o === 0 || distinct) expect(p).toBe(o === 0 ? n : 0);
          }
          expect(added).toHaveLength(parsed.length);
          expect(documents.list.length - added.length).toBe(before.list.length - removed.length);

          const then = finish(assemble(before.list.pieces(), 'f'));
          if (then.resources !== undefined && now.resources !== undefined && before.troubled === 0) {
            const previous = snapshotOf(then.resources);
            expect(changesOf(previous, added, removed)).toEqual(
              diffSnapshots(previous, snapshotOf(now.resources)),
            );
          }
        },
      ),
      { numRuns: 500, ...(seed !== undefined ? { seed } : {}) },
    );
  });
});
