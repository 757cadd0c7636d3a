// Shared by the policy calculation tests: golden fixture discovery (a loader that finds nothing
// fails, so a wrong directory can never pass with zero fixtures) and the exact restore text the
// dataplane writers would send to an empty kernel for a render (their own pure planners, so the
// goldens are what really gets written).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planUpdates } from '../../../../felix/dataplane/ipsets/restore.ts';
import { planTable, restoreInput } from '../../../../felix/dataplane/iptables/plan.ts';
import { renderTable } from '../../../../felix/dataplane/iptables/render.ts';
import type { IpSet } from '../../../../felix/model/ipsets.ts';
import { normalizeIpSets } from '../../../../felix/model/ipsets.ts';
import type { TableState } from '../../../../felix/model/iptables.ts';
import { normalizeTables } from '../../../../felix/model/iptables.ts';
import type { PolicyInput } from '../../../../felix/model/policy.ts';

export const GOLDEN_DIR = join(import.meta.dirname, 'golden');

export interface GoldenCase {
  readonly about: string;
  readonly input: PolicyInput;
}

/** Paths in `dir` whose name matches `re`, sorted; throws when there are none. */
export function fixtureFiles(dir: string, re: RegExp): string[] {
  const files = readdirSync(dir)
    .filter((f) => re.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no fixture matching ${re} in ${dir}`);
  return files.map((f) => join(dir, f));
}

export const readText = (path: string): string => readFileSync(path, 'utf8');

export function iptablesRestoreText(tables: readonly TableState[]): string {
  return restoreInput(normalizeTables(tables).map((t) => planTable(t.table, renderTable(t), undefined)));
}

export function ipsetRestoreText(sets: readonly IpSet[]): string {
  const lines = planUpdates(normalizeIpSets(sets), new Map()).lines;
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
