// .ci/programs.tsv, the one list of the external programs Margay and its tests run: each program
// with the package that brings it, where the package comes from (Debian or npm) and who needs it.
// `.ci/packages` reads the same file for .ci/setup and the image's Dockerfile;
// test/support/program-scan.ts finds the programs in the sources to compare with it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MANIFEST = join(REPO, '.ci/programs.tsv');

export const SOURCES = ['apt', 'npm'] as const;
export const NEEDS = ['product', 'build', 'lab', 'test'] as const;
export const FOUND = ['code', 'kept'] as const;

export type Need = (typeof NEEDS)[number];

export interface ManifestEntry {
  /** As the code names it: a command looked up on PATH, or an absolute path; `-` for none. */
  readonly program: string;
  /** The Debian or npm package that brings it. */
  readonly package: string;
  readonly from: (typeof SOURCES)[number];
  /**
   * Who runs it. product: the agent, speaker, CNI plugin or cleanup (the image installs it);
   * build: `npm run build`; lab: `margay lab` and `margay demo`; test: tests and benchmarks.
   */
  readonly need: readonly Need[];
  /** code: the scan must find it in the sources; kept: it must not, and `note` says why it is listed. */
  readonly found: (typeof FOUND)[number];
  readonly note: string;
  readonly line: number;
}

/** Parses the manifest; a malformed line throws an error naming it. */
export function parseManifest(text: string, name = '.ci/programs.tsv'): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const cols = raw.split('\t');
    const fail = (why: string): never => {
      throw new Error(`${name}:${i + 1}: ${why}: ${raw}`);
    };
    if (cols.length !== 6) fail(`6 tab-separated columns expected, got ${cols.length}`);
    const [program, pkg, from, need, found, note] = cols as [string, string, string, string, string, string];
    if (!/^(\/[\w./+-]+|[\w][\w.+-]*|-)$/.test(program)) fail(`bad program name "${program}"`);
    if (!/^(@[\w.-]+\/)?[\w][\w.+-]*$/.test(pkg)) fail(`bad package name "${pkg}"`);
    if (!(SOURCES as readonly string[]).includes(from)) fail(`from must be one of ${SOURCES.join('|')}`);
    const needs = need.split(',');
    if (!needs.every((n) => (NEEDS as readonly string[]).includes(n)) || new Set(needs).size !== needs.length)
      fail(`need must be a comma-separated list of ${NEEDS.join('|')}, each once`);
    if (!(FOUND as readonly string[]).includes(found)) fail(`found must be one of ${FOUND.join('|')}`);
    if (program === '-' && found !== 'kept') fail('a line without a program is `kept`');
    if (note.trim() === '') fail('the note is empty');
    out.push({
      program,
      package: pkg,
      from: from as ManifestEntry['from'],
      need: needs as Need[],
      found: found as ManifestEntry['found'],
      note,
      line: i + 1,
    });
  });
  return out;
}

export function readManifest(path = MANIFEST): ManifestEntry[] {
  return parseManifest(readFileSync(path, 'utf8'), relative(REPO, path));
}

/** What `.ci/packages NEED…` prints: the Debian packages the named needs install. */
export function ciPackages(...needs: string[]): string[] {
  const r = spawnSync('bash', [join(REPO, '.ci/packages'), ...needs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`.ci/packages ${needs.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/**
 * The manifest entries of `programs` that are not installed here; a program the manifest does not
 * list throws.
 */
export function missingPrograms(
  programs: readonly string[],
  manifest: readonly ManifestEntry[],
): ManifestEntry[] {
  return programs
    .map((p) => {
      const entry = manifest.find((e) => e.program === p);
      if (!entry) throw new Error(`${p} is not listed in .ci/programs.tsv`);
      return entry;
    })
    .filter(
      (e) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', e.program], { stdio: 'ignore' }).status !== 0,
    );
}

/**
 * Throws, naming each package and .ci/setup, when one of `programs` is not installed; so a test
 * that needs socat says so instead of failing on a server that never started.
 */
export function requirePrograms(...programs: string[]): void {
  const missing = missingPrograms(programs, readManifest());
  if (missing.length > 0)
    throw new Error(
      `not installed: ${missing.map((e) => `${e.program} (${e.from} package ${e.package})`).join(', ')}; ` +
        '.ci/setup installs every program .ci/programs.tsv lists',
    );
}
