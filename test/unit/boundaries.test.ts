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
    ['bgp/speaker/x.ts', "import { z } from 'zod';", 'not the package'],
    ['felix/calc/x.ts', "import ipaddr from 'ipaddr.js';", 'only bgp/addr.ts and felix/model/addr.ts'],
    ['bgp/rib/x.ts', "import { s } from '../../src/config.ts';", 'only src/ connects'],
    [
      'felix/dataplane/x.ts',
      "import { c } from '../calc/c.ts';",
      'felix/dataplane may not import felix/calc',
    ],
    ['bgp/rib/x.ts', "import { s } from '../session/s.ts';", 'bgp/rib may not import bgp/session'],
    ['src/daemon/x.ts', "import type { M } from '../api/metrics.ts';", 'src/daemon never imports src/api'],
    // src/ reaches each library through its face only, from any depth and for types too.
    ['src/api/x.ts', "import type { P } from '../../bgp/speaker/types.ts';", 'only bgp/index.ts'],
    ['src/log.ts', "import { D } from '../bgp/speaker/diagnostics.ts';", 'only bgp/index.ts'],
    ['src/cli/x.ts', "import { E } from '../../bgp/errors.ts';", 'only bgp/index.ts'],
    ['src/cni/x.ts', "import { run } from '../../felix/dataplane/exec.ts';", 'only felix/index.ts'],
    ['src/datastore/k8s/x.ts', "import { p } from '../../../felix/model/addr.ts';", 'only felix/index.ts'],
    ['src/model/x.ts', "export { p } from '../../felix/model/policy.ts';", 'only felix/index.ts'],
    // The calculation never names the dataplane, not even for a type.
    [
      'src/calc/x.ts',
      "import type { V } from '../../felix/dataplane/links.ts';",
      'src/calc never imports felix/dataplane',
    ],
    // Nothing inside a library imports its own face.
    ['bgp/speaker/x.ts', "import { s } from '../index.ts';", 'bgp/speaker may not import bgp/(face)'],
    [
      'felix/dataplane/x.ts',
      "import type { R } from '../index.ts';",
      'felix/dataplane may not import felix/(face)',
    ],
    [
      'felix/errors.ts',
      "import type { R } from './model/routes.ts';",
      'felix/(root) may not import felix/model',
    ],
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
      { path: 'src/main.ts', source: "import { s } from '../bgp/index.ts'; import y from 'yaml';" },
      {
        path: 'src/calc/x.ts',
        source: "import type { R } from '../../felix/index.ts'; import { S } from '../../bgp/index.ts';",
      },
      { path: 'src/datastore/k8s/x.ts', source: "import { p } from '../../../felix/index.ts';" },
      {
        path: 'src/daemon/x.ts',
        source: "import { D } from '../../felix/index.ts'; import { c } from '../calc/c.ts';",
      },
      {
        path: 'bgp/index.ts',
        source: "export { S } from './speaker/s.ts'; export { p } from './wire/p.ts';",
      },
      {
        path: 'felix/index.ts',
        source:
          "export { D } from './dataplane/d.ts'; export { r } from './calc/r.ts'; export { E } from './errors.ts';",
      },
      { path: 'test/unit/x.test.ts', source: "import { w } from '../../felix/dataplane/links.ts';" },
      { path: 'src/api/a.ts', source: "import type { V } from '../daemon/view.ts';" },
    ];
    expect(findViolations(ok)).toEqual([]);
  });
});
