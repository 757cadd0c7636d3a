// .ci/programs.tsv against the code: every program that bgp/, felix/, src/ and test/ spawn is
// listed with its package, every listed program is spawned (or says why it is kept), `need` names
// every area that spawns it, .ci/packages derives the same package sets as the manifest says, and
// the image's Dockerfile installs its packages through .ci/packages. The scanner itself is checked
// on a known set of programs in the repository and on an in-memory snippet.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ProgramUse, type ScanResult, scanPrograms, sourceFiles } from '../support/program-scan.ts';
import {
  ciPackages,
  type ManifestEntry,
  missingPrograms,
  NEEDS,
  type Need,
  parseManifest,
  REPO,
  readManifest,
} from '../support/programs.ts';

const SCANNED = ['bgp', 'felix', 'src', 'test'];
const entries = readManifest();
/** Margay's own commands (package.json `bin`): built here, not installed. */
const OWN = new Set(
  Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: object }).bin),
);

/** Which part of Margay a source file belongs to, in the manifest's `need` words. */
function areaOf(file: string): Need {
  if (file.startsWith('test/')) return 'test';
  if (file.startsWith('src/cni/sea/')) return 'build';
  if (file.startsWith('src/lab/') || file === 'src/cli/lab.ts' || file === 'src/cli/demo.ts') return 'lab';
  return 'product';
}

const at = (u: ProgramUse): string => `${u.file}:${u.line}`;

interface Comparison {
  /** Spawned, not listed: "program (file:line, …)". */
  readonly unlisted: string[];
  /** Listed as found in code, never spawned. */
  readonly stale: string[];
  /** Listed as kept, yet spawned. */
  readonly keptButSpawned: string[];
  /** Spawned in an area its `need` does not name. */
  readonly needMisses: string[];
}

function compare(uses: readonly ProgramUse[], manifest: readonly ManifestEntry[]): Comparison {
  const byProgram = new Map<string, ProgramUse[]>();
  for (const u of uses) {
    if (OWN.has(u.program)) continue;
    byProgram.set(u.program, [...(byProgram.get(u.program) ?? []), u]);
  }
  const listed = new Map(manifest.map((e) => [e.program, e]));
  const unlisted = [...byProgram]
    .filter(([p]) => !listed.has(p))
    .map(([p, us]) => `${p} (${us.map(at).join(', ')})`);
  const stale = manifest.filter((e) => e.found === 'code' && !byProgram.has(e.program)).map((e) => e.program);
  const keptButSpawned = manifest
    .filter((e) => e.found === 'kept' && byProgram.has(e.program))
    .map((e) => `${e.program} (${byProgram.get(e.program)!.map(at).join(', ')})`);
  const needMisses: string[] = [];
  for (const [p, us] of byProgram) {
    const e = listed.get(p);
    if (!e) continue;
    for (const area of NEEDS) {
      const inArea = us.filter((u) => areaOf(u.file) === area);
      if (inArea.length > 0 && !e.need.includes(area))
        needMisses.push(
          `${p}: spawned by ${area} code (${inArea.map(at).join(', ')}), need is ${e.need.join(',')}`,
        );
    }
  }
  return { unlisted, stale, keptButSpawned, needMisses };
}

const aptPackages = (need: Need): string[] =>
  [...new Set(entries.filter((e) => e.from === 'apt' && e.need.includes(need)).map((e) => e.package))].sort();

describe('.ci/programs.tsv', () => {
  it('lists each program once, each with a package, a source, its needs and a note', () => {
    const programs = entries.map((e) => e.program).filter((p) => p !== '-');
    expect(programs.filter((p, i) => programs.indexOf(p) !== i)).toEqual([]);
    expect(entries.length).toBeGreaterThan(0);
  });

  it('the parser rejects a malformed line, naming it', () => {
    const good = 'ip\tiproute2\tapt\tproduct\tcode\troutes';
    expect(parseManifest(`# c\n${good}\n`)).toHaveLength(1);
    expect(() => parseManifest(`${good}\nnc\tnetcat-openbsd\tapt\ttest\tcode`)).toThrow(
      /:2: 6 tab-separated/,
    );
    expect(() => parseManifest('nc\tnetcat-openbsd\tpip\ttest\tcode\tx')).toThrow(/from must be/);
    expect(() => parseManifest('nc\tnetcat-openbsd\tapt\ttests\tcode\tx')).toThrow(/need must be/);
    expect(() => parseManifest('-\tca-certificates\tapt\tproduct\tcode\tx')).toThrow(/without a program/);
  });

  it('tells an installed program from one that is not, and refuses one it does not list', () => {
    const manifest = parseManifest(
      'ip\tiproute2\tapt\tproduct\tcode\troutes\nzz-margay-absent\tzz-absent\tapt\ttest\tcode\tnothing\n',
    );
    expect(missingPrograms(['ip', 'zz-margay-absent'], manifest).map((e) => e.package)).toEqual([
      'zz-absent',
    ]);
    expect(() => missingPrograms(['socat'], manifest)).toThrow('socat is not listed');
  });

  it('.ci/packages prints, for each need, the apt packages the manifest lists for it', () => {
    for (const need of NEEDS) expect(ciPackages(need), need).toEqual(aptPackages(need));
    const all = [...new Set(NEEDS.flatMap((n) => aptPackages(n)))].sort();
    expect(ciPackages(...NEEDS)).toEqual(all);
  });

  it('.ci/packages refuses an unknown need instead of printing nothing', () => {
    const r = spawnSync('bash', [join(REPO, '.ci/packages'), 'tests'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown need: tests');
  });

  it('.ci/setup installs the packages of every need, through .ci/packages', () => {
    const setup = readFileSync(join(REPO, '.ci/setup'), 'utf8');
    const needs = /^needs=\(([a-z ]+)\)$/m.exec(setup)?.[1]?.split(' ');
    expect(needs?.sort()).toEqual([...NEEDS].sort());
    expect(setup).toMatch(/^packages="\$\(\.ci\/packages "\$\{needs\[@\]\}"\)"$/m);
  });

  describe('charts/margay/image/Dockerfile', () => {
    // Stages split at FROM, line continuations joined, comments dropped.
    const stages = readFileSync(join(REPO, 'charts/margay/image/Dockerfile'), 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n')
      .split(/^FROM /m)
      .slice(1);
    const build = stages.find((s) => / AS build\n/i.test(s));
    const runtime = stages.at(-1);
    /** The needs a stage installs: the arguments of its `.ci/packages` call in the apt-get RUN. */
    const installed = (stage: string | undefined): { needs: string[]; copied: boolean } => {
      const run = (stage ?? '')
        .split('\n')
        .find((l) => l.startsWith('RUN ') && l.includes('apt-get install'));
      const needs =
        /packages((?: [a-z]+)+)\)/
          .exec(run ?? '')?.[1]
          ?.trim()
          .split(' ') ?? [];
      const copy = (stage ?? '').split('\n').find((l) => l.startsWith('COPY ') && l.includes('.ci/packages'));
      return { needs, copied: copy?.includes('.ci/programs.tsv') ?? false };
    };

    it('the runtime image installs the product packages of the manifest, through .ci/packages', () => {
      const { needs, copied } = installed(runtime);
      expect(needs).toEqual(['product']);
      expect(copied, 'the stage copies .ci/programs.tsv and .ci/packages').toBe(true);
      const product = aptPackages('product');
      expect(ciPackages(...needs)).toEqual(product);
      // The dataplane tools and the portmap plugin, named here on their own.
      for (const pkg of [
        'iproute2',
        'iptables',
        'ipset',
        'procps',
        'util-linux',
        'containernetworking-plugins',
      ])
        expect(product).toContain(pkg);
    });

    it('the build stage installs the build packages of the manifest, through .ci/packages', () => {
      const { needs, copied } = installed(build);
      expect(needs).toEqual(['build']);
      expect(copied).toBe(true);
      expect(ciPackages(...needs)).toContain('binutils');
    });
  });
});

describe('the programs spawned in bgp/, felix/, src/ and test/', () => {
  let scan: ScanResult;
  let found: Set<string>;
  beforeAll(() => {
    scan = scanPrograms(sourceFiles(SCANNED));
    found = new Set(scan.uses.map((u) => u.program));
  }, 300_000);

  it('include the known ones, in each form they are spawned in (a scanner that finds nothing fails here)', () => {
    expect(scan.files).toBeGreaterThan(300);
    // iptables-restore is spawned as iptables-<nft|legacy>-restore (felix/dataplane/iptables/backend.ts
    // builds the name from the family and the backend); bird, vtysh, gobgpd and exabgp through the lab's
    // spawn; socat through `ip netns exec`; nc as a Command's argv and after `ip netns exec NS`.
    for (const p of [
      'ip',
      'iptables-nft-restore',
      'iptables-legacy-restore',
      'ip6tables-nft-restore',
      'ipset',
      'bird',
      'vtysh',
      'gobgpd',
      'exabgp',
      'socat',
      'nc',
      '/usr/bin/python3',
      'sysctl',
      'nsenter',
      'curl',
      'tcpdump',
      'strip',
    ])
      expect(found, p).toContain(p);
    const files = (p: string): string[] => scan.uses.filter((u) => u.program === p).map((u) => u.file);
    expect(files('nc')).toContain('test/interop/felix-iptables.test.ts');
    expect(files('nc')).toContain('test/interop/felix-dataplane.test.ts');
    expect(files('socat')).toContain('test/interop/cni.test.ts');
    expect(files('iptables-nft-restore')).toContain('felix/dataplane/iptables/writer.ts');
    expect(files('/usr/bin/python3')).toContain('src/lab/netns.ts');
  });

  it('are all listed in .ci/programs.tsv', () => {
    expect(compare(scan.uses, entries).unlisted).toEqual([]);
  });

  it('cover every program the manifest says is spawned (no stale entries), and none it keeps for another reason', () => {
    const c = compare(scan.uses, entries);
    expect(c.stale).toEqual([]);
    expect(c.keptButSpawned).toEqual([]);
  });

  it('are spawned only by the parts of Margay their `need` names', () => {
    expect(compare(scan.uses, entries).needMisses).toEqual([]);
  });

  it('come from expressions the scan can follow, but for the margay-cni the SEA test builds and a program that does not exist', () => {
    // Positions computed from a wrapper's parameter are not here: the wrapper's callers are scanned.
    expect(scan.unresolved.map((u) => `${u.file}: ${u.text}`)).toEqual([
      'test/interop/cni-sea.test.ts: built.out',
      'test/interop/cni-sea.test.ts: built.out',
      'test/unit/felix/dataplane/spawn.test.ts: missing',
      'test/unit/felix/dataplane/spawn.test.ts: missing',
    ]);
  });
});

describe('the scanner on a snippet', () => {
  const SNIPPET = `
import { execFileSync, execSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

type Flavour = 'nft' | 'legacy';
const TOOL = 'frobnicate';

function run(argv: readonly string[]): void {
  spawn(argv[0]!, argv.slice(1));
}
function tool(flavour: Flavour): string {
  return \`zap-\${flavour}\`;
}
function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', \`command -v \${name}\`]).status === 0;
}

spawn('ip', ['netns', 'exec', 'ns1', 'zork', '-x']);
execFileSync(TOOL, ['--version']);
run(['quux', 'a']);
const command = { argv: ['blorp'], input: '' };
for (const p of ['alpha', 'beta']) run([p]);
const needed = ['gamma'];
needed.push('delta');
for (const c of needed) hasCommand(c);
run([tool('nft')]);
run([join('/opt', 'bin', 'wibble')]);
run(['unshare', '--net', 'sleep', '1']);
spawn('solo');
spawnSync('sh', ['-c', 'exit 3']);
spawnSync('sh', ['-c', 'grault --now; exit 3']);
execSync('shelly --flag');
spawn(String(Math.random()), []);
const notAProgram = ['ipv4-unicast', 'ipv6-unicast'];
export { command, notAProgram };
`;
  let scan: ScanResult;
  beforeAll(() => {
    scan = scanPrograms([], { memory: { 'test/unit/programs-snippet.ts': SNIPPET } });
  }, 120_000);

  it('finds each form, and nothing that is not spawned', () => {
    expect([...new Set(scan.uses.map((u) => u.program))].sort()).toEqual(
      [
        'ip',
        'zork',
        'frobnicate',
        'quux',
        'blorp',
        'alpha',
        'beta',
        'sh',
        'gamma',
        'delta',
        'zap-nft',
        'zap-legacy',
        'wibble',
        'unshare',
        'sleep',
        'solo',
        'grault',
        'shelly',
      ].sort(),
    );
    expect(scan.unresolved.map((u) => u.text)).toEqual(['String(Math.random())']);
  });

  it('reports the programs the manifest does not list, with where they are spawned', () => {
    const c = compare(scan.uses, entries);
    expect(c.unlisted.map((u) => u.split(' ')[0]).sort()).toEqual(
      [
        'zork',
        'frobnicate',
        'quux',
        'blorp',
        'alpha',
        'beta',
        'gamma',
        'delta',
        'zap-nft',
        'zap-legacy',
        'wibble',
        'solo',
        'grault',
        'shelly',
      ].sort(),
    );
    expect(c.unlisted.find((u) => u.startsWith('zork'))).toMatch(
      /^zork \(test\/unit\/programs-snippet\.ts:\d+\)$/,
    );
  });
});
