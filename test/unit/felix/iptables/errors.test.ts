// Every felix/ error code is stable and documented in the README's error table, so scripts can rely on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FelixErrorCode } from '../../../../felix/errors.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
const documented = new Set([...readme.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1]));

describe('felix error catalog', () => {
  const codes = Object.keys(FelixErrorCode);
  it('has codes', () => expect(codes.length).toBeGreaterThan(0));
  for (const code of codes)
    it(`${code} is in the README error table`, () => expect(documented.has(code)).toBe(true));
});
