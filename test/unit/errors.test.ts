// STYLE rule 9: every stable error code is documented in the README's error table.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BgpErrorCode } from '../../bgp/errors.ts';
import { FelixErrorCode } from '../../felix/errors.ts';
import { MargayErrorCode } from '../../src/errors.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const documented = new Set([...readme.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1]));

describe('error catalogs', () => {
  const codes = [
    ...Object.keys(BgpErrorCode),
    ...Object.keys(FelixErrorCode),
    ...Object.keys(MargayErrorCode),
  ];
  it('has codes to check', () => expect(codes.length).toBeGreaterThan(10));
  for (const code of codes) {
    it(`${code} is in the README error table`, () => expect(documented.has(code)).toBe(true));
  }
  it('the README documents no code that does not exist', () => {
    const known = new Set(codes);
    expect([...documented].filter((c) => !known.has(c as string))).toEqual([]);
  });
});
