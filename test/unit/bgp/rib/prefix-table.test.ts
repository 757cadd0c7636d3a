// PrefixTable against a JS Map (the semantics it replaces): contents, insertion order, live
// cursors across growth and compaction, and the collision-heavy deletion path.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixTable } from '../../../../bgp/rib/prefix-table.ts';
import { PrefixList } from '../../../../bgp/wire/prefix-list.ts';
import { Afi } from '../../../../bgp/wire/types.ts';

/** Key k as a prefix of the family: distinct k → distinct prefixes, lengths mixed. */
function keyText(afi: 1 | 2, k: number): string {
  const len = 16 + (k % 9);
  if (afi === Afi.ipv4) {
    const addr = ((k * 2654435761) >>> 0) & (0xffffffff << (32 - len));
    return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`;
  }
  return `2001:db8:${(k >>> 16).toString(16)}:${(k & 0xffff).toString(16)}::/${64 + (k % 9)}`;
}

const ops = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.nat(500), value: fc.nat(7) }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(500) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('addAbsent' as const),
        keys: fc.array(fc.nat(500), { maxLength: 60 }),
        value: fc.nat(7),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('step' as const), cursor: fc.nat(2) }) },
  ),
  { minLength: 500, maxLength: 3000 },
);

describe('PrefixTable behaves as a Map keyed by prefix', () => {
  // Odd values stand for values held by one entry each (a Loc-RIB Dest), kept per entry.
  const cases = [
    { afi: Afi.ipv4, isShared: undefined },
    { afi: Afi.ipv6, isShared: undefined },
    { afi: Afi.ipv4, isShared: (v: number) => v % 2 === 0 },
  ];
  for (const { afi, isShared } of cases) {
    const kept = isShared === undefined ? 'shared values' : 'odd values kept per entry';
    it(`afi ${afi}, ${kept}: contents, order and live cursors match a Map after any sequence`, () => {
      fc.assert(
        fc.property(ops, (sequence) => {
          const table = new PrefixTable<number>(afi, isShared === undefined ? {} : { isShared });
          const model = new Map<string, number>();
          const keys = PrefixList.parse(
            afi,
            Array.from({ length: 501 }, (_, k) => keyText(afi, k)),
          );
          const w = keys.width;
          // Three cursors walked alongside a model of a live cursor: the next live entry
          // inserted after the last one visited (a Map iterator, except that it never ends:
          // entries added after it reached the end are still visited).
          const cursors = [table.cursor(), table.cursor(), table.cursor()];
          const visited = [-1, -1, -1];
          const seqOf = new Map<string, number>();
          let seq = 0;
          for (const op of sequence) {
            if (op.kind === 'set') {
              table.set(keys.words, op.key * w, keys.lenAt(op.key), op.value);
              if (!model.has(keys.at(op.key))) seqOf.set(keys.at(op.key), seq++);
              model.set(keys.at(op.key), op.value);
            } else if (op.kind === 'delete') {
              expect(table.delete(keys.words, op.key * w, keys.lenAt(op.key))).toBe(
                model.delete(keys.at(op.key)),
              );
              seqOf.delete(keys.at(op.key));
            } else if (op.kind === 'compact') {
              table.compact();
            } else if (op.kind === 'addAbsent') {
              // One block, duplicates included: absent prefixes are added (once), present ones found.
              const block = PrefixList.parse(
                afi,
                op.keys.map((k) => keys.at(k)),
              );
              // addAbsent takes only a shared value.
              const value = isShared?.(op.value) === false ? op.value + 1 : op.value;
              const found = new Int32Array(block.length);
              let added = 0;
              for (const k of op.keys) {
                if (model.has(keys.at(k))) continue;
                model.set(keys.at(k), value);
                seqOf.set(keys.at(k), seq++);
                added++;
              }
              expect(table.addAbsent(block, value, found)).toBe(added);
              const isNew = new Set<string>();
              op.keys.forEach((k, i) => {
                const f = found[i] as number;
                const entry = f < 0 ? -f - 1 : f;
                expect(table.prefixAt(entry)).toBe(keys.at(k));
                if (f < 0) {
                  expect(isNew.has(keys.at(k))).toBe(false);
                  isNew.add(keys.at(k));
                  expect(table.valueAt(entry)).toBe(value);
                }
              });
              expect(isNew.size).toBe(added);
            } else {
              const i = (cursors[op.cursor] as ReturnType<typeof table.cursor>).next();
              const after = visited[op.cursor] as number;
              let expected: [string, number] | undefined;
              for (const [k, n] of seqOf)
                if (n > after && (expected === undefined || n < expected[1])) expected = [k, n];
              expect(i < 0 ? undefined : table.prefixAt(i)).toBe(expected?.[0]);
              if (expected !== undefined) visited[op.cursor] = expected[1];
            }
            expect(table.size).toBe(model.size);
            // Values are kept once each, and let go of when no entry holds them.
            expect(table.valueCount).toBe(
              new Set([...model.values()].filter((v) => isShared?.(v) ?? true)).size,
            );
          }
          expect([...table.entries()]).toEqual([...model.entries()]);
          for (let k = 0; k <= 500; k++) {
            expect(table.get(keys.words, k * w, keys.lenAt(k))).toBe(model.get(keys.at(k)));
          }
        }),
        { numRuns: 40 },
      );
    });
  }

  it('grows to 200k entries, deletes most, compacts, and keeps finding the rest', () => {
    const table = new PrefixTable<number>(Afi.ipv4);
    const key = new Uint32Array(1);
    for (let i = 0; i < 200_000; i++) {
      key[0] = (i << 8) >>> 0;
      table.add(key, 0, 24, i);
    }
    const cursor = table.cursor();
    for (let n = 0; n < 10; n++) cursor.next();
    let wrong = 0;
    for (let i = 0; i < 200_000; i++) {
      if (i % 10 === 0) continue;
      key[0] = (i << 8) >>> 0;
      if (!table.delete(key, 0, 24)) wrong++;
    }
    table.compact();
    expect(table.size).toBe(20_000);
    for (let i = 0; i < 200_000; i++) {
      key[0] = (i << 8) >>> 0;
      if (table.get(key, 0, 24) !== (i % 10 === 0 ? i : undefined)) wrong++;
    }
    expect(wrong).toBe(0);
    // The cursor had passed entries 0..9 (live now: only 0); it continues at entry 10.
    const i = cursor.next();
    expect(table.valueAt(i)).toBe(10);
    cursor.close();
  });

  it('addAbsent makes room for a whole block first: past one doubling, or by compacting holes', () => {
    const table = new PrefixTable<number>(Afi.ipv4);
    const texts = Array.from({ length: 1300 }, (_, k) => keyText(Afi.ipv4, k));
    const first = PrefixList.parse(Afi.ipv4, texts.slice(0, 1000));
    const found = new Int32Array(1000);
    // From the minimum capacity to 1000 entries in one call.
    expect(table.addAbsent(first, 1, found)).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(table.prefixAt(-(found[i] as number) - 1)).toBe(texts[i]);
    const cursor = table.cursor();
    for (let n = 0; n < 950; n++) cursor.next();
    for (let i = 0; i < 900; i++) table.delete(first.words, i, first.lenAt(i));
    // Mostly holes: the next block is placed after a compaction, and the cursor follows it.
    const second = PrefixList.parse(Afi.ipv4, texts.slice(1000));
    expect(table.addAbsent(second, 2, found)).toBe(300);
    expect(table.size).toBe(400);
    expect([...table.entries()]).toEqual([
      ...texts.slice(900, 1000).map((t) => [t, 1]),
      ...texts.slice(1000).map((t) => [t, 2]),
    ]);
    expect(table.prefixAt(cursor.next())).toBe(texts[950]);
    cursor.close();
  });

  it('keeps values held per entry through growth, compaction and replacement', () => {
    // Objects stand for a Loc-RIB's values: shared paths (kept once) and per-prefix Dests.
    const shared = { kind: 'path' };
    const table = new PrefixTable<{ kind: string; n?: number }>(Afi.ipv4, {
      isShared: (v) => v.kind === 'path',
    });
    const key = new Uint32Array(1);
    const at = (i: number) => {
      key[0] = (i << 8) >>> 0;
      return key;
    };
    for (let i = 0; i < 5000; i++) table.add(at(i), 0, 24, i % 3 === 0 ? { kind: 'dest', n: i } : shared);
    for (let i = 0; i < 5000; i++) if (i % 5 !== 0) table.delete(at(i), 0, 24);
    table.compact();
    // Entry 15's own value becomes the shared one, entry 10's shared one its own.
    table.set(at(15), 0, 24, shared);
    table.set(at(10), 0, 24, { kind: 'dest', n: -10 });
    for (let i = 0; i < 5000; i += 5) {
      const v = table.get(at(i), 0, 24);
      const want = i === 10 ? -10 : i % 3 === 0 && i !== 15 ? i : undefined;
      expect(v?.n, `entry ${i}`).toBe(want);
      expect(v?.kind).toBe(want === undefined ? 'path' : 'dest');
    }
    expect(table.size).toBe(1000);
    expect(table.valueCount).toBe(1);
  });

  it('tells prefixes apart that differ only in length, and formats them', () => {
    const table = new PrefixTable<string>(Afi.ipv4);
    const list = PrefixList.parse(Afi.ipv4, ['10.0.0.0/8', '10.0.0.0/16', '10.0.0.0/24', '0.0.0.0/0']);
    for (let i = 0; i < list.length; i++) table.add(list.words, i, list.lenAt(i), list.at(i));
    for (let i = 0; i < list.length; i++) expect(table.get(list.words, i, list.lenAt(i))).toBe(list.at(i));
    expect([...table.entries()].map(([prefix]) => prefix)).toEqual([
      '10.0.0.0/8',
      '10.0.0.0/16',
      '10.0.0.0/24',
      '0.0.0.0/0',
    ]);
  });
});
