// Golden restore input: for each golden/*.json desired state, the exact `iptables-restore` text
// (per family) and `ipset restore` text written to an empty kernel. A change in rendering or in
// the hash shows up here as a diff to review; regenerate with UPDATE_GOLDEN=1 after checking it.
import { existsSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IpSet } from '../../../../felix/model/ipsets.ts';
import type { TableState } from '../../../../felix/model/iptables.ts';
import { fixtureFiles, GOLDEN_DIR, ipsetRestoreText, iptablesRestoreText, readText } from './fixtures.ts';

interface GoldenInput {
  readonly inet: TableState[];
  readonly inet6: TableState[];
  readonly ipsets: IpSet[];
}

const inputs = fixtureFiles(GOLDEN_DIR, /\.json$/);

describe('golden restore input', () => {
  it('found the golden inputs', () => expect(inputs.length).toBeGreaterThanOrEqual(1));
  for (const file of inputs) {
    const input = JSON.parse(readText(file)) as GoldenInput;
    const stem = file.replace(/\.json$/, '');
    const outputs: [string, string][] = [
      [`${stem}.inet.restore`, iptablesRestoreText(input.inet)],
      [`${stem}.inet6.restore`, iptablesRestoreText(input.inet6)],
      [`${stem}.ipset`, ipsetRestoreText(input.ipsets)],
    ];
    for (const [path, text] of outputs) {
      it(`${basename(path)} matches`, () => {
        if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
        expect(existsSync(path), `${path} missing (UPDATE_GOLDEN=1 writes it)`).toBe(true);
        expect(text).toBe(readText(path));
      });
    }
  }
});
