import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findViolations, importsOf, type SourceFile } from '../support/boundaries.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function collect(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const abs = join(entry.parentPath, entry.name);
    out.push({ path: relative(ROOT, abs).split(sep).join('/'), source: readFileSync(abs, 'utf8') });
  }
  return out;
}

describe('module boundaries: imports point one way, only src/ connects bgp/ and felix/', () => {
  it('the real tree crosses no boundary', () => {
    const files = [...collect('bgp'), ...collect('felix'), ...collect('src')];
    expect(files.filter((f) => f.path.startsWith('bgp/')).length).toBeGreaterThan(0);
    expect(findViolations(files)).toEqual([]);
  });

  it('reads every import form', () => {
    const src = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "export * from './d.ts';",
      "import './e.ts';",
      "const f = await import('./f.ts');",
      'import {\n  g,\n  h,\n} from "./gh.ts";',
    ].join('\n');
    expect(importsOf(src)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts', './f.ts', './gh.ts']);
  });

  const cases: [string, string, string][] = [
    ['felix/calc/x.ts', "import { y } from '../../bgp/rib/y.ts';", 'felix/ never imports bgp/'],
    ['bgp/wire/x.ts', "import { y } from '../rib/y.ts';", 'bgp/wire may not import bgp/rib'],
    ['bgp/wire/x.ts', "import net from 'node:net';", 'pure'],
    ['bgp/fsm/x.ts', "import { setTimeout } from 'node:timers';", 'pure'],
    ['bgp/speaker/x.ts', "import k8s from '@kubernetes/client-node';", 'not the package'],
    ['felix/calc/x.ts', "import ipaddr from 'ipaddr.js';", 'only bgp/addr.ts and felix/model/addr.ts'],
    ['bgp/rib/x.ts', "import { s } from '../../src/config.ts';", 'only src/ connects'],
    [
      'felix/dataplane/x.ts',
      "import { c } from '../calc/c.ts';",
      'felix/dataplane may not import felix/calc',
    ],
    ['bgp/rib/x.ts', "import { s } from '../session/s.ts';", 'bgp/rib may not import bgp/session'],
    ['src/daemon/x.ts', "import type { M } from '../api/metrics.ts';", 'src/daemon never imports src/api'],
  ];
  for (const [path, source, rule] of cases) {
    it(`flags ${path}: ${source}`, () => {
      const v = findViolations([{ path, source }]);
      expect(v).toHaveLength(1);
      expect(v[0]?.rule).toContain(rule);
    });
  }

  it('allows what the design allows', () => {
    const ok: SourceFile[] = [
      { path: 'bgp/session/s.ts', source: "import { x } from '../wire/x.ts'; import net from 'node:net';" },
      {
        path: 'bgp/speaker/s.ts',
        source: "import { r } from '../rib/r.ts'; import { e } from '../errors.ts';",
      },
      { path: 'felix/dataplane/d.ts', source: "import { m } from '../model/m.ts';" },
      { path: 'felix/model/addr.ts', source: "import ipaddr from 'ipaddr.js';" },
      { path: 'bgp/addr.ts', source: "import ipaddr from 'ipaddr.js';" },
      { path: 'src/main.ts', source: "import { s } from '../bgp/speaker/s.ts'; import y from 'yaml';" },
      { path: 'src/api/a.ts', source: "import type { V } from '../daemon/view.ts';" },
    ];
    expect(findViolations(ok)).toEqual([]);
  });
});
