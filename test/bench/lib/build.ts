// The built product (dist/, `npm run build`), which is what `margay` runs as installed and in the
// container image: benchmarks that report what a user gets run it rather than the .ts sources
// (Node's type stripping loads its own compiler into the process, which costs memory and start
// time a user never pays).

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from './proc.ts';

/** The first .ts source under bgp/, felix/ or src/ whose dist/ output is missing or older. */
export function staleBuildFile(root: string): string | undefined {
  const walk = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = walk(path);
        if (found) return found;
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const out = join(root, 'dist', relative(root, path)).replace(/\.ts$/, '.js');
        let built: number;
        try {
          built = statSync(out).mtimeMs;
        } catch {
          return relative(root, path);
        }
        if (built < statSync(path).mtimeMs) return relative(root, path);
      }
    }
    return undefined;
  };
  for (const top of ['bgp', 'felix', 'src']) {
    const found = walk(join(root, top));
    if (found) return found;
  }
  return undefined;
}

/** Refuses a checkout whose dist/ is missing or older than its sources, naming the file. */
export function requireFreshBuild(root: string): void {
  const stale = staleBuildFile(root);
  if (stale) throw new Error(`${root}/dist is missing or older than ${stale}: run npm run build there`);
}

/** Compiles a checkout's TypeScript into its dist/ (tsc, as `npm run build` does). */
export async function buildCheckout(root: string): Promise<void> {
  await run([join(root, 'node_modules', '.bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    timeoutMs: 600_000,
  });
}
