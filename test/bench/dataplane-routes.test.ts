// The routes benchmark's raw side must write what the reconciler writes: the same lines, split over
// processes the same way. The reconciler runs here against a fake `ip` (a sh script that logs the
// batch lines each process reads, and answers a route dump with an empty list), and the lines each
// of its processes got are compared with rawLines(). If the reconciler's spelling or partition
// changes, this fails and the bench's raw2 side no longer measures the same work.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { SPLIT_LINES } from '../../felix/dataplane/routes/family-streams.ts';
import { RouteTable } from '../../felix/dataplane/routes/route-table.ts';
import { benchPrefixes, rawLines } from './dataplane-routes.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-bench-routes-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake `ip` logging the batch lines of each process to LOGS/<pid>; returns the script's path. */
function fakeIp(logs: string): string {
  const path = join(dir, 'ip');
  writeFileSync(
    path,
    `#!/bin/sh
case " $* " in *" -batch "*) ;; *) echo '[]'; exit 0;; esac
log='${logs}'/$$
: > "$log"
while IFS= read -r line; do
  case "$line" in "route show"*) echo '[]'; continue;; esac
  printf '%s\\n' "$line" >> "$log"
done
exit 0
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** The lines each process got, those that got any, sorted so the pair compares as a set. */
function perProcess(logs: string): string[][] {
  const out: string[][] = [];
  for (const f of readdirSync(logs)) {
    const lines = readFileSync(join(logs, f), 'utf8').split('\n').filter(Boolean);
    if (lines.length > 0) out.push(lines);
  }
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

const sorted = (xs: string[][]) => [...xs].sort((a, b) => a[0]!.localeCompare(b[0]!));

describe('dataplane-routes raw lines', () => {
  for (const count of [SPLIT_LINES - 1, 3000]) {
    it(`match the reconciler's processes for ${count} routes, install and remove`, async () => {
      const prefixes = benchPrefixes(count);
      const install = mkdtempSync(join(dir, 'install-'));
      const ip = fakeIp(install);
      const rt = new RouteTable({ netlink: new Netlink({ tools: { ip } }), families: [4] });
      rt.setDesired(prefixes.map((dst) => ({ dst, nextHops: [{ gateway: '192.0.2.2' }] })));
      await rt.apply();
      const want = rawLines(prefixes, 'add', 2);
      expect(want).toHaveLength(count >= SPLIT_LINES ? 2 : 1);
      expect(perProcess(install)).toEqual(sorted(want));

      const remove = mkdtempSync(join(dir, 'remove-'));
      fakeIp(remove);
      rt.setDesired([]);
      await rt.apply();
      expect(perProcess(remove)).toEqual(sorted(rawLines(prefixes, 'del', 2)));
      // One process takes every line in the raw1 side.
      expect(rawLines(prefixes, 'del', 1)).toEqual([prefixes.map((p) => `route del ${p} proto 109`)]);
    });
  }
});
