// `node src/model/gen.ts [--check]`: writes the CRDs (charts/margay/crds/) and the resource
// reference (charts/margay/README-config.md) from the model schemas. With --check it writes
// nothing and exits 1 when a committed file is stale.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedFiles } from './generated.ts';

const root = join(import.meta.dirname, '..', '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [path, content] of generatedFiles()) {
  const abs = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(abs, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    console.error(`stale: ${path}`);
    stale++;
    continue;
  }
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  console.log(`wrote ${path}`);
}
if (stale > 0) {
  console.error(`${stale} generated file(s) are stale; run: node src/model/gen.ts`);
  process.exitCode = 1;
}
