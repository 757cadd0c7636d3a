// Label selector semantics (k8s.io/apimachinery labels): matchLabels, In, NotIn (absent key
// matches), Exists, DoesNotExist, AND of all terms, `{}` = everything; canonical form and
// validation with field paths; the label index answers exactly like a scan.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LabelIndex } from '../../../../felix/calc/label-index.ts';
import type { CanonicalSelector } from '../../../../felix/calc/selector.ts';
import { canonicalSelector, selectorMatches } from '../../../../felix/calc/selector.ts';
import type { LabelSelector } from '../../../../felix/model/policy.ts';

function sel(s: LabelSelector): CanonicalSelector {
  const r = canonicalSelector(s, 'sel');
  if ('problems' in r) throw new Error(r.problems.join('; '));
  return r.selector;
}

describe('label selector matching', () => {
  const web = { app: 'web', tier: 'front' };
  const db = { app: 'db' };
  const none = {};
  const table: [string, LabelSelector, [Record<string, string>, boolean][]][] = [
    [
      '{} matches everything',
      {},
      [
        [web, true],
        [db, true],
        [none, true],
      ],
    ],
    [
      'matchLabels',
      { matchLabels: { app: 'web' } },
      [
        [web, true],
        [db, false],
        [none, false],
      ],
    ],
    ['matchLabels ANDed', { matchLabels: { app: 'web', tier: 'back' } }, [[web, false]]],
    [
      'In',
      { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'cache'] }] },
      [
        [web, false],
        [db, true],
        [none, false],
      ],
    ],
    [
      'NotIn matches an absent key',
      { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] },
      [
        [web, false],
        [db, true],
        [none, true],
      ],
    ],
    [
      'Exists',
      { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      [
        [web, true],
        [db, false],
      ],
    ],
    [
      'DoesNotExist',
      { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
      [
        [web, false],
        [db, true],
        [none, true],
      ],
    ],
    [
      'matchLabels AND matchExpressions',
      {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }],
      },
      [
        [web, false],
        [{ app: 'web', tier: 'back' }, true],
        [{ app: 'web' }, true],
      ],
    ],
  ];
  for (const [name, s, rows] of table) {
    it(name, () => {
      const c = sel(s);
      for (const [labels, want] of rows)
        expect(selectorMatches(c, labels), JSON.stringify(labels)).toBe(want);
    });
  }

  it('canonical text ignores spelling order and duplicates', () => {
    const a = sel({
      matchLabels: { b: '1', a: '2' },
      matchExpressions: [{ key: 'c', operator: 'In', values: ['y', 'x', 'y'] }],
    });
    const b = sel({
      matchExpressions: [
        { key: 'c', operator: 'In', values: ['x', 'y'] },
        { key: 'a', operator: 'In', values: ['2'] },
      ],
      matchLabels: { b: '1' },
    });
    expect(a.text).toBe('a in (2),b in (1),c in (x,y)');
    expect(b.text).toBe(a.text);
    expect(sel({}).text).toBe('all()');
    expect(
      sel({
        matchExpressions: [
          { key: 'k', operator: 'DoesNotExist' },
          { key: 'k', operator: 'Exists' },
        ],
      }).text,
    ).toBe('k,!k');
  });

  it('names the field of every invalid term', () => {
    const bad = (s: unknown) => {
      const r = canonicalSelector(s as LabelSelector, 'spec.podSelector');
      return 'problems' in r ? r.problems : [];
    };
    expect(bad({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toEqual([
      'spec.podSelector.matchExpressions[0].values: must be non-empty for In',
    ]);
    expect(bad({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })[0]).toContain(
      'must be empty for Exists',
    );
    expect(bad({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] })[0]).toContain(
      '.operator',
    );
    expect(bad({ matchLabels: { 'bad key!': 'x' } })[0]).toContain('matchLabels');
    expect(bad({ matchLabels: { app: 'no spaces' } })[0]).toContain('is invalid');
    expect(bad({ matchLabels: { 'example.com/app': 'ok' } })).toEqual([]);
  });
});

describe('label index', () => {
  const keys = ['app', 'tier', 'team'];
  const values = ['a', 'b', 'c'];
  const labels = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 3 });
  const requirement = fc.oneof(
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom('In' as const, 'NotIn' as const),
      values: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 }),
    }),
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
    }),
  );
  const selector = fc.record({
    matchLabels: fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 1 }),
    matchExpressions: fc.array(requirement, { maxLength: 2 }),
  });

  it('answers like a full scan, after any sequence of sets and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 7 }),
            ns: fc.constantFrom('x', 'y'),
            labels,
            del: fc.boolean(),
          }),
          { maxLength: 30 },
        ),
        selector,
        fc.option(fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), { maxLength: 2 }), { nil: undefined }),
        (ops, s, nsList) => {
          const index = new LabelIndex();
          const model = new Map<string, { ns: string; labels: Record<string, string> }>();
          for (const op of ops) {
            const id = `p${op.id}`;
            if (op.del) {
              index.delete(id);
              model.delete(id);
            } else {
              index.set({ id, namespace: op.ns, labels: op.labels });
              model.set(id, { ns: op.ns, labels: op.labels });
            }
          }
          const c = sel(s);
          const namespaces = nsList === undefined ? undefined : new Set<string>(nsList);
          const want = [...model.entries()]
            .filter(
              ([, p]) => (namespaces === undefined || namespaces.has(p.ns)) && selectorMatches(c, p.labels),
            )
            .map(([id]) => id)
            .sort();
          expect(index.select(c, namespaces)).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});
