// MemberSet: counted members (a member leaves with its last holder), outputs that stay the same
// object while nothing changed, and merged outputs equal to a fresh sort of the members.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemberSet } from '../../../../felix/calc/member-set.ts';
import { normalizeIpSet } from '../../../../felix/model/ipsets.ts';

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
          } else s.output();
        }
        const expected = [...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(s.output().members).toEqual(expected);
        expect(s.size).toBe(expected.length);
      }),
      { numRuns: 300 },
    );
  });
});
