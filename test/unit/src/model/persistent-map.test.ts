// PersistentMap against a plain Map as the model (property, fast-check): any sequence of batches
// gives the model's contents in every version, old versions never change, and a version shares
// all but the shards its batch touched with the one it came from. Seed: FC_SEED=<n> replays.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PersistentMap } from '../../../../src/model/persistent-map.ts';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
const runs = (numRuns: number) => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });

const contents = (m: ReadonlyMap<string, number>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

/** Batches of sets (a number) and deletes (undefined) over a key space of `keys`. */
const batchesArb = (keys: number, maxBatches: number) =>
  fc.array(
    fc.array(fc.tuple(fc.nat(keys - 1), fc.option(fc.integer(), { nil: undefined })), { maxLength: 300 }),
    { maxLength: maxBatches },
  );

describe('PersistentMap', () => {
  it('every version holds what a Map given the same batches holds, and keeps it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), batchesArb(3000, 8), (initial, batches) => {
        const model = new Map<string, number>();
        for (let i = 0; i < initial; i++) model.set(`ns/k-${i}`, i);
        let map = PersistentMap.of([...model]);
        const versions: [PersistentMap<number>, [string, number][]][] = [[map, contents(model)]];
        for (const batch of batches) {
          const updates = batch.map(([k, v]) => [`ns/k-${k}`, v] as const);
          for (const [k, v] of updates) {
            if (v === undefined) model.delete(k);
            else model.set(k, v);
          }
          map = map.with(updates);
          versions.push([map, contents(model)]);
        }
        for (const [version, expected] of versions) {
          const keys = expected.map(([k]) => k);
          expect(version.size).toBe(expected.length);
          expect(contents(version)).toEqual(expected);
          expect(keys.map((k) => version.get(k))).toEqual(expected.map(([, v]) => v));
          expect(keys.every((k) => version.has(k))).toBe(true);
          expect(version.has('ns/absent')).toBe(false);
          expect([...version.keys()].sort()).toEqual(keys);
          expect([...version.values()]).toHaveLength(expected.length);
          const seen: string[] = [];
          version.forEach((v, k, m) => {
            if (m !== version || v !== version.get(k)) throw new Error(`forEach gave ${k} => ${v}`);
            seen.push(k);
          });
          expect(seen.sort()).toEqual(keys);
        }
      }),
      runs(20),
    );
  });

  it('keysNotSharedWith covers every key that differs between two versions', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), batchesArb(2500, 4), (initial, batches) => {
        let map = PersistentMap.of(Array.from({ length: initial }, (_, i) => [`k-${i}`, i] as const));
        const first = map;
        for (const batch of batches) map = map.with(batch.map(([k, v]) => [`k-${k}`, v] as const));
        const candidates = first.keysNotSharedWith(map);
        for (const key of new Set([...first.keys(), ...map.keys()]))
          if (first.get(key) !== map.get(key) || first.has(key) !== map.has(key))
            expect(candidates.has(key)).toBe(true);
      }),
      runs(100),
    );
  });

  it('a change of one key in 30,000 copies one shard and shares the rest', () => {
    const big = PersistentMap.of(
      Array.from({ length: 30_000 }, (_, i) => [`ns-${i % 200}/pod-${i}`, i] as const),
    );
    const next = big.with([['ns-7/pod-7', -1]]);
    const unshared = big.keysNotSharedWith(next);
    expect(unshared.has('ns-7/pod-7')).toBe(true);
    expect(unshared.size).toBeLessThan(200);
    expect(big.get('ns-7/pod-7')).toBe(7);
    expect(next.get('ns-7/pod-7')).toBe(-1);
  });

  it('a batch that changes nothing gives the same version', () => {
    const m = PersistentMap.of([['a', 1]]);
    expect(m.with([])).toBe(m);
    expect(m.with([['b', undefined]])).toBe(m);
    expect(PersistentMap.empty<number>().size).toBe(0);
  });

  it('compares and prints as the map it stands for', () => {
    const a = PersistentMap.of([
      ['x', 1],
      ['y', 2],
    ]);
    const b = PersistentMap.of([['y', 2]]).with([['x', 1]]);
    expect([...a.keys()]).not.toEqual([...b.keys()]);
    expect(a).toEqual(b);
    expect(a).not.toEqual(PersistentMap.of([['x', 1]]));
    expect(Object.prototype.toString.call(a)).toBe('[object Map]');
  });
});
