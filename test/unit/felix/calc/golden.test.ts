// Golden rendering: for each golden/<case>.input.json (a PolicyInput and what it shows), the exact
// `iptables-restore` text per family and `ipset restore` text the writers would send to an empty
// kernel, plus the explanation the REST API serves. A change in rendering shows up as a diff to
// review; UPDATE_GOLDEN=1 rewrites the outputs (review them), and without it any difference fails
// (restore texts byte for byte, the explanation as a JSON value).
import { existsSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPolicy } from '../../../../felix/calc/render-policy.ts';
import type { GoldenCase } from './fixtures.ts';
import { fixtureFiles, GOLDEN_DIR, ipsetRestoreText, iptablesRestoreText, readText } from './fixtures.ts';

const inputs = fixtureFiles(GOLDEN_DIR, /\.input\.json$/);

describe('policy rendering goldens', () => {
  it('found the golden inputs (all eleven representative cases)', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(11);
  });
  for (const file of inputs) {
    const golden = JSON.parse(readText(file)) as GoldenCase;
    const stem = file.replace(/\.input\.json$/, '');
    const render = renderPolicy(golden.input);
    const outputs: [string, string][] = [
      [`${stem}.inet.restore`, iptablesRestoreText(render.iptables.inet)],
      [`${stem}.inet6.restore`, iptablesRestoreText(render.iptables.inet6)],
      [`${stem}.ipset`, ipsetRestoreText(render.ipsets)],
    ];
    const explainPath = `${stem}.explain.json`;
    describe(basename(stem), () => {
      it('has no input problems', () => expect(render.explain.problems).toEqual([]));
      for (const [path, text] of outputs) {
        it(`${basename(path)} matches`, () => {
          if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
          expect(existsSync(path), `${path} missing (UPDATE_GOLDEN=1 writes it)`).toBe(true);
          expect(text).toBe(readText(path));
        });
      }
      // JSON goldens are compared as values: the formatter may re-wrap the file.
      it(`${basename(explainPath)} matches`, () => {
        if (process.env.UPDATE_GOLDEN === '1')
          writeFileSync(explainPath, `${JSON.stringify(render.explain, null, 2)}\n`);
        expect(existsSync(explainPath), `${explainPath} missing (UPDATE_GOLDEN=1 writes it)`).toBe(true);
        expect(JSON.parse(JSON.stringify(render.explain))).toEqual(JSON.parse(readText(explainPath)));
      });
    });
  }
});
