// Builds `dist/margay-cni`: margay-cni as a Node single executable application (Node 24 "Single
// executable applications"), so nodes without Node.js can run it (`npm run build:cni`).
//
//   1. rolldown bundles src/cni/main.ts and everything it imports (felix/, zod) into one
//      CommonJS file — Node 24's SEA runs a single CommonJS script and cannot `import` files.
//   2. `node --experimental-sea-config` turns it into a preparation blob (with V8 code cache).
//   3. The node binary running this script (node_modules/.bin/node → the `node` package's real
//      binary, so the blob and the binary are the same Node version) is copied; its symbol table
//      and debug information are stripped when `strip` exists (a smaller file; .dynsym stays).
//   4. postject injects the blob as NODE_SEA_BLOB and flips the NODE_SEA_FUSE sentinel.
// The result needs only the C library and the CNI tools it runs (ip, sysctl, nsenter).
//
//   node src/cni/sea/build.ts [--out FILE] [--work DIR] [--no-strip]
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'rolldown';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaBuildOptions {
  /** Output executable (default dist/margay-cni). */
  readonly out?: string;
  /** Scratch directory for the bundle and blob (default a fresh temp dir, removed after). */
  readonly workDir?: string;
  /** Strip debug information from the copied node binary when `strip` exists (default true). */
  readonly strip?: boolean;
}

export interface SeaBuildResult {
  readonly out: string;
  readonly bytes: number;
  readonly bundleBytes: number;
  readonly nodeVersion: string;
  readonly isStripped: boolean;
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Run a build step; its output is shown only when it fails. */
function quiet(file: string, args: readonly string[]): void {
  const r = spawnSync(file, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${file} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr}${r.stdout}`);
  }
}

export async function buildSea(opts: SeaBuildOptions = {}): Promise<SeaBuildResult> {
  const out = resolve(opts.out ?? join(ROOT, 'dist', 'margay-cni'));
  const work = opts.workDir ?? mkdtempSync(join(tmpdir(), 'margay-cni-sea-'));
  mkdirSync(work, { recursive: true });
  mkdirSync(dirname(out), { recursive: true });
  try {
    const bundle = join(work, 'margay-cni.cjs');
    await build({
      input: join(ROOT, 'src', 'cni', 'main.ts'),
      platform: 'node',
      logLevel: 'warn',
      output: { format: 'cjs', file: bundle, codeSplitting: false, minify: true },
    });
    // The SEA runs the script as a CommonJS function body: no hashbang line.
    const code = readFileSync(bundle, 'utf8').replace(/^#!.*\n/, '');
    writeFileSync(bundle, code);
    const blob = join(work, 'margay-cni.blob');
    const seaConfig = join(work, 'sea-config.json');
    writeFileSync(
      seaConfig,
      JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
    );
    quiet(process.execPath, ['--experimental-sea-config', seaConfig]);
    const nodeBinary = realpathSync(process.execPath);
    rmSync(out, { force: true });
    copyFileSync(nodeBinary, out);
    chmodSync(out, 0o755);
    const isStripped = (opts.strip ?? true) && hasCommand('strip');
    if (isStripped) quiet('strip', ['--strip-all', out]);
    const require = createRequire(import.meta.url);
    const postject = join(dirname(require.resolve('postject')), 'cli.js');
    // LIEF (inside postject) warns about the note sections of the stripped binary: harmless.
    quiet(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL_FUSE]);
    return {
      out,
      bytes: statSync(out).size,
      bundleBytes: Buffer.byteLength(code),
      nodeVersion: process.version,
      isStripped,
    };
  } finally {
    if (opts.workDir === undefined) rmSync(work, { recursive: true, force: true });
  }
}

function parseArgs(argv: readonly string[]): SeaBuildOptions {
  const o: { out?: string; workDir?: string; strip?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') o.out = argv[++i];
    else if (a === '--work') o.workDir = argv[++i];
    else if (a === '--no-strip') o.strip = false;
    else
      throw new Error(`usage: node src/cni/sea/build.ts [--out FILE] [--work DIR] [--no-strip] (got ${a})`);
  }
  return o;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const t0 = performance.now();
  buildSea(parseArgs(process.argv.slice(2))).then(
    (r) => {
      const mb = (r.bytes / 1024 / 1024).toFixed(1);
      const ms = Math.round(performance.now() - t0);
      process.stdout.write(
        `margay-cni: ${r.out} (${mb} MiB, Node ${r.nodeVersion} SEA, bundle ${r.bundleBytes} bytes${r.isStripped ? ', stripped' : ''}, ${ms} ms)\n`,
      );
    },
    (e: unknown) => {
      process.stderr.write(`margay-cni build failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
