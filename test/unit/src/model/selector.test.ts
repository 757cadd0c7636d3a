// Calico selector expressions: parse + evaluate tables, parse errors with position and
// expectation, and properties (fast-check prints the seed of a failure; replay with { seed }):
// print/parse round trip, evaluation equal to a reference evaluator after printing, and label
// selectors agreeing with the felix label-selector matcher.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSelector, selectorMatches } from '../../../../felix/calc/selector.ts';
import type { SelectorExpr } from '../../../../felix/index.ts';
import {
  compileSelector,
  evaluateSelector,
  labelSelectorToExpr,
  parseSelector,
  printSelector,
  SelectorParseError,
} from '../../../../felix/index.ts';
import type { LabelSelector } from '../../../../felix/model/policy.ts';

const r1 = { rack: 'r1', role: 'worker', zone: 'eu-1a' };
const r2 = { rack: 'r2', 'margay.io/rr': '' };
const none = {};

describe('Calico selector evaluation', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['', none, true],
    ['   ', r1, true],
    ['all()', none, true],
    ["rack == 'r1'", r1, true],
    ["rack == 'r1'", r2, false],
    ["rack == 'r1'", none, false],
    ['rack == "r1"', r1, true],
    ["rack != 'r1'", r1, false],
    ["rack != 'r1'", r2, true],
    ["rack != 'r1'", none, true], // absent label matches !=, as in Calico
    ['has(rack)', none, false],
    ['has(margay.io/rr)', r2, true],
    ['!has(margay.io/rr)', r2, false],
    ["rack in {'r1', 'r3'}", r1, true],
    ["rack in {'r1', 'r3'}", r2, false],
    ["rack in {'r1'}", none, false],
    ['rack in {}', r1, false],
    ["rack not in {'r1'}", r1, false],
    ["rack not in {'r1'}", r2, true],
    ["rack not in {'r1'}", none, true],
    ["zone contains 'u-1'", r1, true],
    ["zone starts with 'eu'", r1, true],
    ["zone ends with '1b'", r1, false],
    ["zone contains 'x'", none, false],
    ["rack == 'r1' && role == 'worker'", r1, true],
    ["rack == 'r2' && role == 'worker'", r1, false],
    ["rack == 'r2' || role == 'worker'", r1, true],
    ["rack == 'r2' || rack == 'r1' && role == 'x'", r1, false], // && binds tighter than ||
    ["(rack == 'r2' || rack == 'r1') && role == 'worker'", r1, true],
    ["!rack == 'r1'", r1, false], // ! binds tightest
    ["!(rack == 'r2' || has(x))", r1, true],
    ['!!has(rack)', r1, true],
    ["all() && rack == 'r1'", r1, true],
    ["has(in) || in == 'x'", { in: 'x' }, true], // keywords are fine as label keys
  ];
  for (const [text, labels, want] of cases) {
    it(`${JSON.stringify(text)} on ${JSON.stringify(labels)} → ${want}`, () => {
      expect(evaluateSelector(parseSelector(text), labels)).toBe(want);
      expect(compileSelector(text).matches(labels)).toBe(want);
    });
  }
});

describe('Calico selector parse errors name the position and the expectation', () => {
  const cases: [string, number, RegExp][] = [
    ["rack = 'r1'", 5, /expected ==, !=, in, not in.*after the label key "rack"; found "="/],
    ['rack == r1', 8, /expected a quoted string after ==; found "r1"/],
    ["rack == 'r1", 8, /expected a closing '/],
    ["rack == 'r1' &&", 15, /expected a label key, all\(\), has\(KEY\), "!" or "\("; found the end/],
    ["(rack == 'r1'", 13, /expected &&, \|\| or "\)"/],
    ["rack == 'r1' rack", 13, /expected &&, \|\| or the end of the selector; found "rack"/],
    ["rack in ('a')", 8, /expected "\{" to start a set of strings/],
    ["rack in {'a' 'b'}", 13, /expected "," or "\}" in a set/],
    ["rack not {'a'}", 9, /expected "in" after "not"/],
    ['has()', 4, /expected a label key inside has\(\)/],
    ['all(x)', 4, /expected "\)" after all\(/],
    ["rack starts 'a'", 12, /expected "with" after "starts"/],
    ['rack == @', 8, /expected a label key, a string, an operator or a parenthesis; found "@"/],
    ['&& x', 0, /found "&&"/],
    ["a == 'b' & c == 'd'", 9, /expected &&, \|\| or the end of the selector; found "&"/],
  ];
  for (const [text, position, message] of cases) {
    it(JSON.stringify(text), () => {
      let caught: unknown;
      try {
        parseSelector(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SelectorParseError);
      const e = caught as SelectorParseError;
      expect(e.position).toBe(position);
      expect(e.message).toMatch(message);
      expect(e.message).toContain(`at ${position}:`);
    });
  }
});

describe('printing', () => {
  it('prints the canonical form', () => {
    expect(printSelector(parseSelector("  rack=='r1'&&(a=='1'||b in {\"x\",'y'})"))).toBe(
      "rack == 'r1' && (a == '1' || b in {'x', 'y'})",
    );
    expect(printSelector(parseSelector(''))).toBe('all()');
    expect(printSelector(parseSelector("!(a == 'b')"))).toBe("!a == 'b'");
    expect(printSelector({ op: '==', key: 'k', value: "it's" })).toBe(`k == "it's"`);
  });

  it('keeps right-nested operators parenthesized', () => {
    const e = parseSelector('has(a) && (has(b) && has(c))');
    expect(e).toEqual({
      op: '&&',
      left: { op: 'has', key: 'a' },
      right: { op: '&&', left: { op: 'has', key: 'b' }, right: { op: 'has', key: 'c' } },
    });
    expect(printSelector(e)).toBe('has(a) && (has(b) && has(c))');
  });
});

// Arbitrary expressions over a small alphabet so that evaluations hit both outcomes.
const keyArb = fc.constantFrom('rack', 'role', 'margay.io/rr', 'in', 'not', 'all', 'has', 'a_b-c.d');
const valueArb = fc.constantFrom('', 'r1', 'r2', 'x y', "it's", 'say "hi"', 'a,b');
const leaf: fc.Arbitrary<SelectorExpr> = fc.oneof(
  fc.constant<SelectorExpr>({ op: 'all' }),
  keyArb.map((key): SelectorExpr => ({ op: 'has', key })),
  fc
    .tuple(fc.constantFrom('==', '!=', 'contains', 'starts with', 'ends with' as const), keyArb, valueArb)
    .map(([op, key, value]): SelectorExpr => ({ op, key, value })),
  fc
    .tuple(fc.constantFrom('in', 'not in' as const), keyArb, fc.array(valueArb, { maxLength: 3 }))
    .map(([op, key, values]): SelectorExpr => ({ op, key, values })),
);
const exprArb: fc.Arbitrary<SelectorExpr> = fc.letrec<{ e: SelectorExpr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('e').map((operand): SelectorExpr => ({ op: '!', operand })),
    fc
      .tuple(fc.constantFrom('&&', '||' as const), tie('e'), tie('e'))
      .map(([op, left, right]): SelectorExpr => ({ op, left, right })),
  ),
})).e;
const labelsArb = fc.dictionary(keyArb, valueArb, { maxKeys: 4 });

describe('properties', () => {
  it('parse(print(e)) is e', () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        expect(parseSelector(printSelector(e))).toEqual(e);
      }),
    );
  });

  it('printing is a fixed point: print(parse(print(e))) is print(e)', () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        const text = printSelector(e);
        expect(printSelector(parseSelector(text))).toBe(text);
      }),
    );
  });

  it('De Morgan: !(a && b) matches exactly what !a || !b matches', () => {
    fc.assert(
      fc.property(exprArb, exprArb, labelsArb, (a, b, labels) => {
        const lhs = parseSelector(`!((${printSelector(a)}) && (${printSelector(b)}))`);
        const rhs = parseSelector(`!(${printSelector(a)}) || !(${printSelector(b)})`);
        expect(evaluateSelector(lhs, labels)).toBe(evaluateSelector(rhs, labels));
      }),
    );
  });

  // Kubernetes label selectors become expressions; they must select what felix's matcher selects.
  const k8sKey = fc.constantFrom('rack', 'role', 'margay.io/rr');
  const k8sValue = fc.constantFrom('r1', 'r2', 'w');
  const labelSelectorArb: fc.Arbitrary<LabelSelector> = fc.record({
    matchLabels: fc.dictionary(k8sKey, k8sValue, { maxKeys: 2 }),
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({
          key: k8sKey,
          operator: fc.constantFrom('In' as const, 'NotIn' as const),
          values: fc.uniqueArray(k8sValue, { minLength: 1, maxLength: 2 }),
        }),
        fc.record({ key: k8sKey, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
      ),
      { maxLength: 3 },
    ),
  });
  it('a label selector selects what the felix label-selector matcher selects', () => {
    fc.assert(
      fc.property(labelSelectorArb, fc.dictionary(k8sKey, k8sValue, { maxKeys: 3 }), (sel, labels) => {
        const canonical = canonicalSelector(sel, 'sel');
        if (!('selector' in canonical)) throw new Error(canonical.problems.join('; '));
        expect(compileSelector(sel).matches(labels)).toBe(selectorMatches(canonical.selector, labels));
        expect(evaluateSelector(parseSelector(printSelector(labelSelectorToExpr(sel))), labels)).toBe(
          selectorMatches(canonical.selector, labels),
        );
      }),
    );
  });
});

describe('label selectors', () => {
  it('converts each operator', () => {
    const sel: LabelSelector = {
      matchLabels: { rack: 'r1' },
      matchExpressions: [
        { key: 'role', operator: 'In', values: ['a', 'b'] },
        { key: 'tier', operator: 'NotIn', values: ['x'] },
        { key: 'tor', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    };
    expect(compileSelector(sel).text).toBe(
      "rack == 'r1' && role in {'a', 'b'} && tier not in {'x'} && has(tor) && !has(legacy)",
    );
    expect(compileSelector({}).text).toBe('all()');
    expect(compileSelector(undefined).matches(undefined)).toBe(true);
  });
});
