// charts/margay/image/Dockerfile, checked without a docker engine (none runs here): its build stage
// is replayed in a temporary directory — the build-context files its COPY lines name, the
// repository's node_modules in place of `npm ci`, then its `npm run build` — and every path the
// later stages take from it (COPY --from=build, the symlinked commands) must exist in that output;
// every plain COPY source must exist in the repository and not be excluded by the
// Dockerfile.dockerignore beside it. So a build stage that misses an input, or a runtime stage
// that copies a file the build does not make (dist/margay-cni before the CNI build is in), fails
// here instead of in someone's `docker build`.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './helm.ts';

const DOCKERFILE = join(REPO, 'charts/margay/image/Dockerfile');
const IGNORE = `${DOCKERFILE}.dockerignore`;

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  workdir: string;
  readonly instructions: (Instruction & { readonly workdir: string })[];
}

/** FROM/WORKDIR/COPY/RUN… with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read line: ${line}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(args);
      stages.push({ base: f![1]!, name: f![2], workdir: '/', instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${op} before FROM`);
    if (op === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args);
    stage.instructions.push({ op, args, workdir: stage.workdir });
  }
  return stages;
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  /** Absolute destination in the image. */
  readonly dest: string;
}

function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(' ');
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      const dest = paths.at(-1)!;
      return { from, sources: paths.slice(0, -1), dest: posix.resolve(i.workdir, dest) };
    });
}

/** Dockerfile.dockerignore patterns (the subset used: names, `**\/name`, `*.ext`). */
function ignored(path: string, patterns: string[]): boolean {
  const parts = path.split('/');
  return patterns.some((p) => {
    if (p.startsWith('**/')) return parts.includes(p.slice(3));
    if (p.startsWith('*.')) return path.endsWith(p.slice(1));
    return path === p || path.startsWith(`${p}/`);
  });
}

const stages = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1)!;
const ignorePatterns = readFileSync(IGNORE, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('is multi-stage on the Node 24 slim image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.base).toBe('node:24-bookworm-slim');
    expect(build, 'a stage named build').toBeDefined();
    const runs = build!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.startsWith('npm ci'))).toBe(true);
    expect(runs).toContain('npm run build');
  });

  it('installs the dataplane tools and portmap in the runtime image', () => {
    const apt = runtime.instructions.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'));
    // The names come from .ci/programs.tsv through `.ci/packages NEED…`, run here as the RUN runs it.
    const call = /packages((?: [a-z]+)+)\)/.exec(apt?.args ?? '');
    const needs = call?.[1]?.trim().split(' ') ?? [];
    const derived = spawnSync('bash', [join(REPO, '.ci/packages'), ...needs], { encoding: 'utf8' }).stdout;
    const packages = [...(apt?.args.split(' ') ?? []), ...derived.split('\n')];
    for (const pkg of ['iproute2', 'iptables', 'ipset', 'conntrack', 'procps', 'containernetworking-plugins'])
      expect(packages).toContain(pkg);
  });

  it('puts margay-cni where the chart’s install script looks, and runs the config the chart mounts', () => {
    const script = readFileSync(join(REPO, 'charts/margay/files/install.mjs'), 'utf8');
    const source = /MARGAY_CNI_SOURCE \?\? '([^']+)'/.exec(script)?.[1];
    expect(copies(runtime).map((c) => c.dest)).toContain(source);
    const cmd = runtime.instructions.find((i) => i.op === 'CMD')?.args;
    expect(cmd).toContain('/etc/margay/config/agent.json');
  });

  it('copies only build-context files that exist and are not ignored', () => {
    const problems: string[] = [];
    for (const stage of stages)
      for (const c of copies(stage).filter((x) => x.from === undefined))
        for (const src of c.sources) {
          if (!existsSync(join(REPO, src))) problems.push(`COPY ${src}: not in the repository`);
          if (ignored(src, ignorePatterns)) problems.push(`COPY ${src}: excluded by Dockerfile.dockerignore`);
        }
    expect(problems).toEqual([]);
  });

  it('takes production node_modules from a stage that runs npm ci --omit=dev', () => {
    for (const c of copies(runtime).filter((x) => x.from !== undefined && x.from !== 'build')) {
      const stage = stages.find((s) => s.name === c.from);
      expect(stage, `stage ${c.from}`).toBeDefined();
      expect(c.sources).toEqual([posix.join(stage!.workdir, 'node_modules')]);
      const ci = stage!.instructions.find((i) => i.op === 'RUN' && i.args.startsWith('npm ci'));
      expect(ci?.args).toContain('--omit=dev');
      expect(copies(stage!).flatMap((x) => x.sources)).toEqual(['package.json', 'package-lock.json']);
    }
  });

  describe('replaying the build stage', () => {
    let dir: string;
    let result: { status: number | null; output: string };

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'margay-image-build-'));
      for (const c of copies(build!)) {
        expect(c.from).toBeUndefined();
        for (const src of c.sources) {
          const dest =
            c.sources.length > 1 || c.dest.endsWith('/') ? join(c.dest, posix.basename(src)) : c.dest;
          cpSync(join(REPO, src), join(dir, posix.relative(build!.workdir, dest)), { recursive: true });
        }
      }
      // `npm ci` is what produced the repository's node_modules from the same lock file.
      symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
      const r = spawnSync('npm', ['run', 'build'], { cwd: dir, encoding: 'utf8', timeout: 280_000 });
      result = { status: r.status, output: `${r.stdout}\n${r.stderr}` };
    }, 300_000);
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('npm run build succeeds with only the files the build stage copies', () => {
      expect(result.status, result.output).toBe(0);
    });

    it('every COPY --from=build source is in the build output', () => {
      const missing = copies(runtime)
        .filter((c) => c.from === 'build')
        .flatMap((c) => c.sources)
        .filter((src) => !existsSync(join(dir, posix.relative(build!.workdir, src))))
        .map(
          (src) =>
            `COPY --from=build ${src}: npm run build did not produce ${posix.relative(build!.workdir, src)}`,
        );
      expect(missing).toEqual([]);
    });

    it('the commands the runtime stage links (margay, margayctl) are in the build output', () => {
      const run = runtime.instructions
        .filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join(' ');
      const targets = [...run.matchAll(/ln -s (\S+) (\S+)/g)].map((m) => ({ target: m[1]!, link: m[2]! }));
      expect(targets.map((t) => posix.basename(t.link)).sort()).toEqual(['margay', 'margayctl']);
      for (const { target } of targets) {
        const copy = copies(runtime).find((c) => c.from === 'build' && target.startsWith(`${c.dest}/`));
        expect(copy, `a COPY --from=build provides ${target}`).toBeDefined();
        const built = posix.join(copy!.sources[0]!, target.slice(copy!.dest.length));
        expect(existsSync(join(dir, posix.relative(build!.workdir, built))), built).toBe(true);
      }
    });
  });
});
