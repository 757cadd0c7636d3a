// MemberSet: counted members (a member leaves with its last holder), outputs that stay the same
// object while nothing changed, and changed outputs (built when read) equal to a fresh sort of the
// members, each telling the ipset writer its change from the output before it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemberSet } from '../../../../felix/calc/member-set.ts';
import { sortedDelta } from '../../../../felix/dataplane/ipsets/restore.ts';
import type { IpSet } from '../../../../felix/model/ipsets.ts';
import { changeFrom, memberCount, normalizeIpSet } from '../../../../felix/model/ipsets.ts';

const ID = { name: 'mgy-sel-test', type: 'hash:ip' as const, family: 'inet' as const, origin: 'test' };

describe('MemberSet', () => {
  it('a member given by two holders stays until both took it back', () => {
    const touched: MemberSet[] = [];
    const s = new MemberSet(ID, (m) => touched.push(m));
    s.add('10.0.0.2');
    s.add('10.0.0.1');
    s.add('10.0.0.1');
    expect(touched).toHaveLength(1);
    expect(s.output().members).toEqual(['10.0.0.1', '10.0.0.2']);
    s.remove('10.0.0.1');
    expect(s.output().members).toEqual(['10.0.0.1', '10.0.0.2']);
    s.remove('10.0.0.1');
    expect(s.output().members).toEqual(['10.0.0.2']);
    expect(() => s.remove('10.0.0.1')).toThrow(/removed more often than added/);
  });

  it('the output is the same object until the members change, also when a change is undone', () => {
    const s = new MemberSet(ID, () => {});
    s.add('10.0.0.1');
    const a = s.output();
    expect(s.output()).toBe(a);
    s.add('10.0.0.9');
    s.remove('10.0.0.9');
    expect(s.output()).toBe(a);
    s.add('10.0.0.9');
    const b = s.output();
    expect(b).not.toBe(a);
    expect(a.members).toEqual(['10.0.0.1']);
    // Normalized already: the Dataplane's normalization hands it back untouched.
    expect(normalizeIpSet(b)).toBe(b);
  });

  it('outputs read late, in any order, hold their own members; each knows its change', () => {
    const s = new MemberSet(ID, () => {});
    for (let i = 0; i < 500; i++) s.add(`10.1.${i >> 8}.${i & 255}`);
    const outputs: { set: IpSet; want: string[] }[] = [];
    const live = new Set<string>();
    for (let i = 0; i < 500; i++) live.add(`10.1.${i >> 8}.${i & 255}`);
    outputs.push({ set: s.output(), want: [...live].sort() });
    // 400 changes of a few members each: composed changes pass the rebuild threshold many times.
    for (let round = 0; round < 400; round++) {
      const out = `10.1.${(round * 7) % 2}.${(round * 13) % 250}`;
      const into = `10.2.${round >> 8}.${round & 255}`;
      if (live.has(out)) {
        s.remove(out);
        live.delete(out);
      }
      s.add(into);
      live.add(into);
      outputs.push({ set: s.output(), want: [...live].sort() });
    }
    for (let i = outputs.length - 1; i >= 0; i -= 3) {
      const { set, want } = outputs[i]!;
      expect(memberCount(set)).toBe(want.length);
      expect(set.members).toEqual(want);
    }
    for (let i = 1; i < outputs.length; i++) {
      const { set, want } = outputs[i]!;
      expect(set.members).toEqual(want);
      expect(changeFrom(set, outputs[i - 1]!.set)).toEqual(sortedDelta(outputs[i - 1]!.want, want));
      if (i > 1) expect(changeFrom(set, outputs[i - 2]!.set)).toBeUndefined();
      expect(normalizeIpSet(set)).toBe(set);
      expect({ ...set }.members).toEqual(want);
      expect(JSON.stringify(set)).toBe(
        JSON.stringify({ name: ID.name, type: ID.type, family: ID.family, members: want, origin: ID.origin }),
      );
    }
  });

  it('after any adds, removes and resets, the output is the sorted live members', () => {
    const member = fc.integer({ min: 0, max: 40 }).map((i) => `10.0.${i % 3}.${i}`);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), m: member }),
      fc.record({ kind: fc.constant('remove' as const), m: member }),
      fc.record({ kind: fc.constant('reset' as const), ms: fc.array(member, { maxLength: 8 }) }),
      fc.record({ kind: fc.constant('output' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const s = new MemberSet(ID, () => {});
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'add') {
            s.add(o.m);
            model.set(o.m, (model.get(o.m) ?? 0) + 1);
          } else if (o.kind === 'remove') {
            const n = model.get(o.m);
            if (n === undefined) continue;
            s.remove(o.m);
            if (n === 1) model.delete(o.m);
            else model.set(o.m, n - 1);
          } else if (o.kind === 'reset') {
            s.reset(o.ms);
            model.clear();
            for (const m of o.ms) model.set(m, 1);
          } else {
            const before = s.current;
            const out = s.output();
            const want = [...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
            expect(memberCount(out)).toBe(want.length);
            if (before !== undefined && out !== before) {
              expect(changeFrom(out, before)).toEqual(sortedDelta(before.members, want));
            }
          }
        }
        const expected = [...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(s.output().members).toEqual(expected);
        expect(s.size).toBe(expected.length);
      }),
      { numRuns: 300 },
    );
  });
});
