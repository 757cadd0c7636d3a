// Where the Kubernetes datastore's client configuration comes from: a KubeConfig object (tests,
// embedding), a kubeconfig file, or — the default for the DaemonSet — the pod's service account
// (KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA), then $KUBECONFIG (its first path).
// A configuration that cannot work is an error naming what is missing, not a client that fails on
// its first request.
//
// Of a kubeconfig file, the current context's cluster and user are read:
// - cluster: server, certificate-authority, certificate-authority-data, insecure-skip-tls-verify,
//   tls-server-name (and disable-compression and extensions, which change nothing here: the
//   client never asks for a compressed answer);
// - user: token, tokenFile, client-certificate, client-certificate-data, client-key,
//   client-key-data (and extensions);
// - context: cluster, user (and namespace and extensions: every request is cluster-wide).
// Relative file paths resolve against the kubeconfig's directory. Any other field of the entries in
// use (auth-provider, exec, username/password, impersonation, proxy-url, …) is refused with an error
// naming the field and the entry, never ignored: a client that quietly authenticates otherwise than
// the file says is worse than one that does not start. Entries the current context does not use are
// not read.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ipFamily } from '../../../felix/index.ts';
import { MargayError } from '../../errors.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How to reach and authenticate to an API server (certificates and keys as PEM text). */
export interface KubeConfig {
  /** The API server's URL, http: or https:, optionally with a path prefix. */
  readonly server: string;
  /** The CAs the server's certificate must chain to (PEM); the system's CAs when absent. */
  readonly certificateAuthority?: string;
  /** Do not verify the server's certificate. */
  readonly insecureSkipTlsVerify?: boolean;
  /** The name the server's certificate is checked against (and sent as SNI) instead of the host. */
  readonly tlsServerName?: string;
  /** A client certificate (PEM), with its key. */
  readonly clientCertificate?: string;
  readonly clientKey?: string;
  /** A bearer token. */
  readonly token?: string;
  /** A file holding the bearer token, read on every request (it rotates); wins over `token`. */
  readonly tokenFile?: string;
}

export interface KubeConfigEnvironment {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory of the service account token and CA; default SERVICE_ACCOUNT_DIR. */
  readonly serviceAccountDir?: string;
}

const fail = (message: string, cause?: unknown): never => {
  throw new MargayError('MARGAY_ERR_KUBECONFIG', message, cause !== undefined ? { cause } : undefined);
};

/** A KubeConfig as is, a kubeconfig file path, or undefined for in-cluster (then $KUBECONFIG). */
export function loadKubeConfig(
  source?: KubeConfig | string,
  environment: KubeConfigEnvironment = {},
): KubeConfig {
  if (typeof source === 'object') return checked(source, 'the given KubeConfig');
  if (typeof source === 'string') return fromFile(source);
  const env = environment.env ?? process.env;
  const dir = environment.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBERNETES_SERVICE_HOST)
    return inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, dir);
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p !== '');
  if (fromEnv !== undefined) return fromFile(fromEnv);
  return fail(
    'no Kubernetes configuration: not running in a pod (KUBERNETES_SERVICE_HOST is not set), no ' +
      'datastore.kubeconfig path given and $KUBECONFIG is not set',
  );
}

/** The pod's service account, as client-go's InClusterConfig reads it. */
function inCluster(host: string, port: string | undefined, dir: string): KubeConfig {
  const what = 'in-cluster configuration';
  if (!port) return fail(`${what}: KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not`);
  const tokenFile = `${dir}/token`;
  if (!existsSync(tokenFile))
    fail(
      `${what}: KUBERNETES_SERVICE_HOST is set but ${tokenFile} does not exist ` +
        '(is automountServiceAccountToken off?)',
    );
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${ipFamily(host) === 6 ? `[${host}]` : host}:${port}`;
  const config: KubeConfig = {
    server,
    tokenFile,
    ...(scheme === 'https'
      ? { certificateAuthority: readText(`${dir}/ca.crt`, `${what}: the service account CA`) }
      : {}),
  };
  return checked(config, what);
}

type Entry = Record<string, unknown>;

const CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'disable-compression',
  'extensions',
]);
const USER_FIELDS = new Set([
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'extensions',
]);
const CONTEXT_FIELDS = new Set(['cluster', 'user', 'namespace', 'extensions']);

function fromFile(path: string): KubeConfig {
  const what = `kubeconfig ${path}`;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    return fail(`${what}: ${(err as Error).message}`, err);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return fail(`${what}: not a kubeconfig (no mapping)`);
  const root = doc as Entry;
  const contextName = root['current-context'];
  if (typeof contextName !== 'string' || contextName === '')
    return fail(`${what}: current-context is not set`);
  const context = named(root, 'contexts', 'context', contextName, what);
  refuseOthers(context, CONTEXT_FIELDS, `context "${contextName}"`, what);
  const clusterName = context.cluster;
  if (typeof clusterName !== 'string' || clusterName === '')
    return fail(`${what}: context "${contextName}" names no cluster`);
  const cluster = named(root, 'clusters', 'cluster', clusterName, what);
  refuseOthers(cluster, CLUSTER_FIELDS, `cluster "${clusterName}"`, what);
  const userName = context.user;
  const user =
    typeof userName === 'string' && userName !== '' ? named(root, 'users', 'user', userName, what) : {};
  if (typeof userName === 'string' && userName !== '')
    refuseOthers(user, USER_FIELDS, `user "${userName}"`, what);

  const base = dirname(resolve(path));
  const field = (entry: Entry, name: string, of: string): string | undefined => {
    const v = entry[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return fail(`${what}: ${of}: ${name} is not a string`);
    return v;
  };
  const pem = (entry: Entry, name: string, of: string): string | undefined => {
    const data = field(entry, `${name}-data`, of);
    if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
    const file = field(entry, name, of);
    return file !== undefined ? readText(resolve(base, file), `${what}: ${of}: ${name}`) : undefined;
  };
  const ofCluster = `cluster "${clusterName}"`;
  const ofUser = `user "${String(userName)}"`;
  const server = field(cluster, 'server', ofCluster);
  if (server === undefined) return fail(`${what}: ${ofCluster} has no server`);
  const insecure = cluster['insecure-skip-tls-verify'];
  if (insecure !== undefined && typeof insecure !== 'boolean')
    fail(`${what}: ${ofCluster}: insecure-skip-tls-verify is not true or false`);
  const ca = pem(cluster, 'certificate-authority', ofCluster);
  const tlsServerName = field(cluster, 'tls-server-name', ofCluster);
  const clientCertificate = pem(user, 'client-certificate', ofUser);
  const clientKey = pem(user, 'client-key', ofUser);
  const token = field(user, 'token', ofUser);
  const tokenFileField = field(user, 'tokenFile', ofUser);
  const tokenFile = tokenFileField !== undefined ? resolve(base, tokenFileField) : undefined;
  if (tokenFile !== undefined) readText(tokenFile, `${what}: ${ofUser}: tokenFile`);
  const config: KubeConfig = {
    server,
    ...(ca !== undefined ? { certificateAuthority: ca } : {}),
    ...(insecure === true ? { insecureSkipTlsVerify: true } : {}),
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    ...(clientCertificate !== undefined ? { clientCertificate } : {}),
    ...(clientKey !== undefined ? { clientKey } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
  };
  return checked(config, `${what}: context "${contextName}"`);
}

/** The `inner` mapping of the list entry called `name` (`contexts[].context` and so on). */
function named(root: Entry, list: string, inner: string, name: string, what: string): Entry {
  const entries = root[list];
  const found = Array.isArray(entries)
    ? (entries as unknown[]).find((e) => (e as Entry | null)?.name === name)
    : undefined;
  if (found === undefined) return fail(`${what}: no ${inner} named "${name}" in ${list}`);
  const value = (found as Entry)[inner];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    return fail(`${what}: ${inner} "${name}" is not a mapping`);
  return value as Entry;
}

function refuseOthers(entry: Entry, known: ReadonlySet<string>, of: string, what: string): void {
  for (const [key, value] of Object.entries(entry)) {
    if (known.has(key) || value === undefined || value === null) continue;
    fail(
      `${what}: ${of} sets ${key}, which Margay's Kubernetes client does not support ` +
        `(it supports ${[...known].filter((k) => k !== 'extensions').join(', ')})`,
    );
  }
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return fail(
      `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      err,
    );
  }
}

/** The configuration if it can work; else the error naming what is wrong. */
function checked(config: KubeConfig, what: string): KubeConfig {
  let url: URL;
  try {
    url = new URL(config.server);
  } catch {
    return fail(`${what}: server "${config.server}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    fail(`${what}: server "${config.server}" is neither http: nor https:`);
  if ((config.clientCertificate === undefined) !== (config.clientKey === undefined))
    fail(`${what}: a client certificate needs its key and a key its certificate (only one is given)`);
  if (config.insecureSkipTlsVerify === true && config.certificateAuthority !== undefined)
    fail(
      `${what}: insecure-skip-tls-verify and a certificate authority are both set; ` +
        'a CA is pointless when the certificate is not checked (kubectl refuses this too)',
    );
  return config;
}
