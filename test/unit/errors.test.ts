// The error catalogs (bgp/errors.ts, felix/errors.ts, src/errors.ts) against the README's error
// table and against the tests:
// - every code is in the README table, with the catalog's exit code and CNI code, and the table
//   names no code that does not exist;
// - every code is asserted by some test: its name appears inside an `expect(…)` call in a file
//   under test/ (for a margay-cni code, its CNI code number as the `code` or `cniCode` of an
//   expected CNI error, in a CNI test). A code no test asserts is untested or dead.
// The second check reads the test sources rather than recording errors at run time, so it sees
// the assertions of every test file whoever runs them (vitest workers, child processes, the
// interop tests that need root) and does not depend on which tests ran before it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { BgpErrorCode } from '../../bgp/errors.ts';
import { FelixErrorCode } from '../../felix/errors.ts';
import { MargayErrorCode } from '../../src/errors.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TEST_DIR = join(ROOT, 'test');
const THIS_FILE = join(import.meta.dirname, 'errors.test.ts');

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** README rows: code -> the rest of the first cell, e.g. "(exit 2)" or "(CNI code 7)". */
const documented = new Map(
  [...readme.matchAll(/^\| `([A-Z0-9_]+)`([^|]*)\|/gm)].map((m) => [m[1]!, m[2]!.trim()]),
);

const codes = [...Object.keys(BgpErrorCode), ...Object.keys(FelixErrorCode), ...Object.keys(MargayErrorCode)];
const CODE_RE = /\b(?:BGP|FELIX|MARGAY)_ERR_[A-Z0-9_]+\b/g;
const HAS_CODE = /\b(?:BGP|FELIX|MARGAY)_ERR_/;

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testSources(path);
    return e.name.endsWith('.ts') && path !== THIS_FILE ? [path] : [];
  });
}

/** The identifier an expression chain starts from: `expect` for `expect(x).rejects.toThrow`. */
function chainRoot(e: ts.Expression): ts.Expression {
  for (;;) {
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e) || ts.isNonNullExpression(e))
      e = e.expression;
    else if (ts.isCallExpression(e)) e = e.expression;
    else return e;
  }
}

function insideExpect(node: ts.Node): boolean {
  for (let p = node.parent; p; p = p.parent) {
    if (ts.isCallExpression(p)) {
      const root = chainRoot(p.expression);
      if (ts.isIdentifier(root) && root.text === 'expect') return true;
    }
  }
  return false;
}

/** The margay-cni codes by their CNI code number. */
const cniCodes = new Map<number, string>(
  Object.entries(MargayErrorCode).flatMap(([code, e]) => ('cniCode' in e ? [[e.cniCode, code]] : [])),
);

/** Code -> where a test asserts it ("file:line"). */
function assertedCodes(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const note = (code: string, file: string, sf: ts.SourceFile, node: ts.Node) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    found.set(code, [...(found.get(code) ?? []), `${relative(ROOT, file)}:${line}`]);
  };
  for (const file of testSources(TEST_DIR)) {
    const text = readFileSync(file, 'utf8');
    const isCniTest = /\/cni/.test(relative(TEST_DIR, file));
    if (!HAS_CODE.test(text) && !isCniTest) continue;
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isStringLiteralLike(n) || ts.isRegularExpressionLiteral(n) || ts.isTemplateExpression(n)) {
        const names = n.getText(sf).match(CODE_RE);
        if (names && insideExpect(n)) for (const c of names) note(c, file, sf, n);
      }
      if (isCniTest && ts.isNumericLiteral(n) && insideExpect(n)) {
        const p = n.parent;
        const isCniCodeProperty =
          ts.isPropertyAssignment(p) &&
          p.initializer === n &&
          ts.isIdentifier(p.name) &&
          (p.name.text === 'code' || p.name.text === 'cniCode');
        // expect(err.cniCode).toBe(N): the `expect(…)` call at the root of the matcher's chain.
        const expectCall = ts.isCallExpression(p) ? chainRoot(p.expression).parent : undefined;
        const isCniCodeMatcher =
          expectCall !== undefined &&
          ts.isCallExpression(expectCall) &&
          /\.cniCode$/.test(expectCall.arguments[0]?.getText(sf) ?? '');
        const code = cniCodes.get(Number(n.text));
        if (code && (isCniCodeProperty || isCniCodeMatcher)) note(code, file, sf, n);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

describe('error catalogs', () => {
  it('has codes to check', () => expect(codes.length).toBeGreaterThan(10));

  describe('the README error table', () => {
    for (const code of codes) {
      it(`documents ${code}`, () => expect(documented.has(code)).toBe(true));
    }
    it('documents no code that does not exist', () => {
      const known = new Set(codes);
      expect([...documented.keys()].filter((c) => !known.has(c))).toEqual([]);
    });
    it("gives each margay code the catalog's exit code and CNI code", () => {
      for (const [code, e] of Object.entries(MargayErrorCode)) {
        const want = 'cniCode' in e ? `(CNI code ${e.cniCode})` : `(exit ${e.exitCode})`;
        expect(documented.get(code), code).toBe(want);
      }
    });
  });

  describe('the tests', () => {
    const asserted = assertedCodes();
    it('the scan finds assertions at all', () => expect(asserted.size).toBeGreaterThan(10));
    for (const code of codes) {
      it(`assert ${code}`, () => {
        expect(asserted.get(code) ?? [], `no test under test/ expects ${code}`).not.toEqual([]);
      });
    }
  });
});
