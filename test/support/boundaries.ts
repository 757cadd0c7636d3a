// The import rules between the layers, as data (ALLOWED below): inside bgp/ and felix/ imports
// point one way, from session and speaker down to the pure codec, FSM and RIB, and from calc and
// dataplane to the model (dataplane never imports calc); pure layers touch no sockets, timers,
// processes or files; felix/ never imports bgp/; only src/ connects the two libraries, and only
// through their faces: from bgp/ it imports bgp/index.ts alone, from felix/ felix/index.ts alone;
// the calculation (src/calc) never names a felix/dataplane path, not even for a type; the daemon
// (src/daemon) never imports the API (src/api): the API reads the agent through its view. Tests
// (test/) may import anything: they test the internals.
// `findViolations` is pure so the rules themselves can be tested on synthetic trees.
import { posix } from 'node:path';

export interface SourceFile {
  readonly path: string; // repo-relative, posix separators
  readonly source: string;
}

export interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly rule: string;
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2]) as string);
  return out;
}

/**
 * Which top-level area a repo path belongs to, e.g. "bgp/wire", "felix/calc", "src". A library's
 * index.ts is an area of its own, "bgp/(face)" or "felix/(face)": it may import the whole library
 * and nothing inside the library imports it.
 */
function areaOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'bgp' || parts[0] === 'felix') {
    if (parts.length === 2 && parts[1] === 'index.ts') return `${parts[0]}/(face)`;
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : `${parts[0]}/(root)`;
  }
  return parts[0] ?? '';
}

// For each area, the areas it may import from (its own area is always allowed).
const BGP_ROOT = 'bgp/(root)';
const ALLOWED: Record<string, readonly string[]> = {
  'bgp/(face)': [
    BGP_ROOT,
    'bgp/wire',
    'bgp/fsm',
    'bgp/rib',
    'bgp/policy',
    'bgp/session',
    'bgp/bfd',
    'bgp/speaker',
  ],
  'bgp/(root)': ['bgp/wire'],
  'bgp/wire': [BGP_ROOT],
  'bgp/fsm': [BGP_ROOT, 'bgp/wire'],
  'bgp/rib': [BGP_ROOT, 'bgp/wire', 'bgp/policy'],
  'bgp/policy': [BGP_ROOT, 'bgp/wire'],
  'bgp/session': [BGP_ROOT, 'bgp/wire', 'bgp/fsm'],
  'bgp/bfd': [BGP_ROOT, 'bgp/session'],
  'bgp/speaker': [BGP_ROOT, 'bgp/wire', 'bgp/fsm', 'bgp/session', 'bgp/bfd', 'bgp/rib', 'bgp/policy'],
  'felix/(face)': ['felix/(root)', 'felix/model', 'felix/calc', 'felix/dataplane'],
  'felix/(root)': [],
  'felix/model': ['felix/(root)'],
  'felix/calc': ['felix/(root)', 'felix/model'],
  'felix/dataplane': ['felix/(root)', 'felix/model'],
};

// Pure layers may not touch sockets, timers, processes or the file system.
const PURE_AREAS = new Set(['bgp/wire', 'bgp/fsm', 'bgp/rib', 'bgp/policy', 'felix/calc', 'felix/model']);
const PURE_NODE_BUILTINS = new Set(['node:buffer', 'node:util', 'node:crypto']);

// The packages the libraries use, each from its one module: ipaddr.js parses, checks and formats
// every address and CIDR, so no second parser grows elsewhere; koffi calls the C library where
// Node has no API (posix_spawn for the dataplane's commands, setsockopt for TCP-MD5 and TTLs).
const PACKAGE_IMPORTERS: Record<string, readonly string[]> = {
  'ipaddr.js': ['bgp/addr.ts', 'felix/model/addr.ts'],
  koffi: ['felix/dataplane/spawn.ts', 'bgp/libc.ts'],
};

const LIBRARIES = ['bgp', 'felix'] as const;

/** The rules for an import of src/: the libraries' faces, the calculation, the daemon. */
function srcImportProblem(file: string, target: string): string | undefined {
  if (file.startsWith('src/calc/') && target.startsWith('felix/dataplane/'))
    return 'src/calc never imports felix/dataplane: the calculation hands felix desired state';
  for (const lib of LIBRARIES) {
    if (target.startsWith(`${lib}/`) && target !== `${lib}/index.ts`)
      return `src/ imports from ${lib}/ only ${lib}/index.ts, its public face`;
  }
  if (file.startsWith('src/daemon/') && target.startsWith('src/api/'))
    return 'src/daemon never imports src/api';
  return undefined;
}

export function findViolations(files: readonly SourceFile[]): Violation[] {
  const violations: Violation[] = [];
  for (const file of files) {
    const area = areaOf(file.path);
    const top = area.split('/')[0];
    if (top === 'src') {
      for (const spec of importsOf(file.source)) {
        if (!spec.startsWith('.')) continue;
        const rule = srcImportProblem(file.path, posix.normalize(posix.join(posix.dirname(file.path), spec)));
        if (rule !== undefined) violations.push({ file: file.path, specifier: spec, rule });
      }
    }
    if (top !== 'bgp' && top !== 'felix') continue; // src/'s rules are above; test/ may import anything
    for (const spec of importsOf(file.source)) {
      const bad = (rule: string) => violations.push({ file: file.path, specifier: spec, rule });
      if (spec.startsWith('node:')) {
        if (PURE_AREAS.has(area) && !PURE_NODE_BUILTINS.has(spec)) bad(`${area} is pure: no ${spec}`);
        continue;
      }
      if (!spec.startsWith('.')) {
        const importers = PACKAGE_IMPORTERS[spec];
        if (importers === undefined)
          bad(`${top}/ imports only node: builtins and its own files, not the package "${spec}"`);
        else if (!importers.includes(file.path))
          bad(`only ${importers.join(' and ')} import the package "${spec}"`);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file.path), spec));
      const targetArea = areaOf(target);
      if (targetArea === area) continue;
      const targetTop = targetArea.split('/')[0];
      if (top === 'felix' && targetTop === 'bgp') {
        bad('felix/ never imports bgp/: it receives route specs');
        continue;
      }
      if (targetTop !== top) {
        bad(`${top}/ may not import from ${targetTop}/ (only src/ connects the libraries)`);
        continue;
      }
      const allowed = ALLOWED[area];
      if (allowed && !allowed.includes(targetArea)) bad(`${area} may not import ${targetArea}`);
    }
  }
  return violations;
}
