// Where the Kubernetes client's configuration comes from: each kubeconfig field Margay reads (files
// relative to the kubeconfig's directory, -data fields), each field it refuses, what is missing,
// $KUBECONFIG, and the in-cluster service account, whose rotating token the client re-reads.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KubeApiError, KubeClient } from '../../../../../src/datastore/k8s/client.ts';
import { loadKubeConfig } from '../../../../../src/datastore/k8s/kubeconfig.ts';
import { FakeKubeApiServer } from '../../../../fakes/kube-apiserver.ts';

let dir: string;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'margay-kc-'));
  return dir;
}

type Fields = Record<string, unknown>;

/** A kubeconfig whose current context `ctx` uses cluster `prod` and user `alice`, written to `at`. */
function writeKubeconfig(
  at: string,
  cluster: Fields,
  user: Fields | undefined,
  context: Fields = {},
  extra: Fields = {},
): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'unused', cluster: { server: 'https://unused.example', 'proxy-url': 'http://proxy:3128' } },
      { name: 'prod', cluster },
    ],
    users: [
      { name: 'unused', user: { exec: { command: 'aws' } } },
      ...(user !== undefined ? [{ name: 'alice', user }] : []),
    ],
    contexts: [{ name: 'ctx', context: { cluster: 'prod', user: 'alice', ...context } }],
    'current-context': 'ctx',
    ...extra,
  };
  writeFileSync(at, stringify(doc));
  return at;
}

const kubeconfigError = (message: string | RegExp) =>
  expect.objectContaining({
    code: 'MARGAY_ERR_KUBECONFIG',
    message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
  });

describe('loadKubeConfig: a kubeconfig file', () => {
  it('reads server, CA, tls-server-name, client certificate and key, tokenFile from files relative to it', () => {
    const d = tempDir();
    mkdirSync(join(d, 'pki'));
    writeFileSync(join(d, 'pki', 'ca.pem'), 'CA PEM');
    writeFileSync(join(d, 'pki', 'cert.pem'), 'CERT PEM');
    writeFileSync(join(d, 'pki', 'key.pem'), 'KEY PEM');
    writeFileSync(join(d, 'pki', 'token'), 'file-token\n');
    const path = writeKubeconfig(
      join(d, 'config'),
      {
        server: 'https://10.0.0.1:6443',
        'certificate-authority': 'pki/ca.pem',
        'tls-server-name': 'kubernetes.default',
        'disable-compression': true,
        extensions: [{ name: 'x', extension: {} }],
      },
      {
        'client-certificate': 'pki/cert.pem',
        'client-key': './pki/key.pem',
        tokenFile: 'pki/token',
        extensions: [],
      },
      { namespace: 'kube-system' },
      { preferences: {} },
    );
    expect(loadKubeConfig(path)).toEqual({
      server: 'https://10.0.0.1:6443',
      certificateAuthority: 'CA PEM',
      tlsServerName: 'kubernetes.default',
      clientCertificate: 'CERT PEM',
      clientKey: 'KEY PEM',
      tokenFile: join(d, 'pki', 'token'),
    });
  });

  it('reads the -data fields (base64), which win over the file fields, a token and insecure-skip-tls-verify', () => {
    const d = tempDir();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const withData = writeKubeconfig(
      join(d, 'a'),
      {
        server: 'https://kube.example:443/prefix',
        'certificate-authority-data': b64('CA DATA'),
        'certificate-authority': 'does-not-exist.pem',
      },
      {
        'client-certificate-data': b64('CERT DATA'),
        'client-key-data': b64('KEY DATA'),
        token: 'inline-token',
      },
    );
    expect(loadKubeConfig(withData)).toEqual({
      server: 'https://kube.example:443/prefix',
      certificateAuthority: 'CA DATA',
      clientCertificate: 'CERT DATA',
      clientKey: 'KEY DATA',
      token: 'inline-token',
    });
    const insecure = writeKubeconfig(
      join(d, 'b'),
      { server: 'https://kube.example', 'insecure-skip-tls-verify': true },
      { token: 't' },
    );
    expect(loadKubeConfig(insecure)).toEqual({
      server: 'https://kube.example',
      insecureSkipTlsVerify: true,
      token: 't',
    });
  });

  it('accepts a context without a user (no credentials)', () => {
    const d = tempDir();
    const path = writeKubeconfig(join(d, 'config'), { server: 'http://127.0.0.1:8080' }, undefined, {
      user: '',
    });
    expect(loadKubeConfig(path)).toEqual({ server: 'http://127.0.0.1:8080' });
  });

  it.each([
    ['user', 'exec', { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' }],
    ['user', 'auth-provider', { name: 'oidc', config: {} }],
    ['user', 'username', 'admin'],
    ['user', 'password', 'secret'],
    ['user', 'as', 'system:admin'],
    ['user', 'as-uid', '1'],
    ['user', 'as-groups', ['system:masters']],
    ['user', 'as-user-extra', { scopes: ['x'] }],
    ['user', 'token-file', '/typo'],
    ['cluster', 'proxy-url', 'socks5://proxy:1080'],
    ['cluster', 'certificate-authority-file', '/typo'],
    ['context', 'as', 'someone'],
  ])('refuses %s field %s, naming it and the entry', (entry, field, value) => {
    const d = tempDir();
    const cluster: Fields = { server: 'https://kube.example' };
    const user: Fields = { token: 't' };
    const context: Fields = {};
    ({ cluster, user, context })[entry as 'cluster' | 'user' | 'context'][field] = value;
    const path = writeKubeconfig(join(d, 'config'), cluster, user, context);
    const of = { cluster: 'cluster "prod"', user: 'user "alice"', context: 'context "ctx"' }[entry];
    expect(() => loadKubeConfig(path)).toThrow(
      kubeconfigError(`kubeconfig ${path}: ${of} sets ${field}, which`),
    );
  });

  it.each([
    ['no current-context', { 'current-context': '' }, 'current-context is not set'],
    [
      'a current-context not in contexts',
      { 'current-context': 'other' },
      'no context named "other" in contexts',
    ],
    ['a cluster not in clusters', { clusters: [] }, 'no cluster named "prod" in clusters'],
    ['a user not in users', { users: [] }, 'no user named "alice" in users'],
  ])('names what is missing: %s', (_what, extra, message) => {
    const d = tempDir();
    const path = writeKubeconfig(
      join(d, 'config'),
      { server: 'https://kube.example' },
      { token: 't' },
      {},
      extra,
    );
    expect(() => loadKubeConfig(path)).toThrow(kubeconfigError(message));
  });

  it('names a cluster without a server, a file it cannot read, and combinations that cannot work', () => {
    const d = tempDir();
    const load =
      (cluster: Fields, user: Fields = {}) =>
      () =>
        loadKubeConfig(writeKubeconfig(join(d, 'config'), cluster, user));
    expect(load({})).toThrow(kubeconfigError('cluster "prod" has no server'));
    expect(load({ server: 'kube.example:6443' })).toThrow(kubeconfigError('is neither http: nor https:'));
    expect(load({ server: 'https://k', 'certificate-authority': 'ca.pem' })).toThrow(
      kubeconfigError(`cluster "prod": certificate-authority: cannot read ${join(d, 'ca.pem')}: ENOENT`),
    );
    expect(load({ server: 'https://k' }, { tokenFile: 'tok' })).toThrow(
      kubeconfigError(`user "alice": tokenFile: cannot read ${join(d, 'tok')}: ENOENT`),
    );
    expect(load({ server: 'https://k' }, { 'client-certificate-data': 'Y2VydA==' })).toThrow(
      kubeconfigError('a client certificate needs its key'),
    );
    expect(
      load({ server: 'https://k', 'insecure-skip-tls-verify': true, 'certificate-authority-data': 'Y2E=' }),
    ).toThrow(kubeconfigError('insecure-skip-tls-verify and a certificate authority are both set'));
    expect(() => loadKubeConfig(join(d, 'nope'))).toThrow(
      kubeconfigError(`kubeconfig ${join(d, 'nope')}: ENOENT`),
    );
    writeFileSync(join(d, 'list'), '- a\n- b\n');
    expect(() => loadKubeConfig(join(d, 'list'))).toThrow(kubeconfigError('not a kubeconfig'));
  });

  it('takes the first path of $KUBECONFIG', () => {
    const d = tempDir();
    const path = writeKubeconfig(join(d, 'config'), { server: 'https://first.example' }, {});
    expect(loadKubeConfig(undefined, { env: { KUBECONFIG: `${path}:${join(d, 'second')}` } }).server).toBe(
      'https://first.example',
    );
  });

  it('checks a KubeConfig object as it is given', () => {
    expect(loadKubeConfig({ server: 'http://127.0.0.1:1', token: 't' })).toEqual({
      server: 'http://127.0.0.1:1',
      token: 't',
    });
    expect(() => loadKubeConfig({ server: 'nope' })).toThrow(
      kubeconfigError('the given KubeConfig: server "nope" is not a URL'),
    );
  });
});

describe('loadKubeConfig: in a pod', () => {
  const sa = (files: Record<string, string>): string => {
    const d = tempDir();
    for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
    return d;
  };

  it('names what is missing when there is no configuration at all', () => {
    expect(() => loadKubeConfig(undefined, { env: {} })).toThrow(kubeconfigError(/KUBERNETES_SERVICE_HOST/));
  });

  it('reads the service account token file and CA', () => {
    const d = sa({ token: 'abc', 'ca.crt': 'SA CA' });
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(loadKubeConfig(undefined, { env, serviceAccountDir: d })).toEqual({
      server: 'https://10.96.0.1:443',
      certificateAuthority: 'SA CA',
      tokenFile: join(d, 'token'),
    });
    const v6 = { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' };
    expect(loadKubeConfig(undefined, { env: v6, serviceAccountDir: d }).server).toBe(
      'https://[fd00:10:96::1]:443',
    );
  });

  it('refuses a pod without the token, the CA or the port', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const noToken = sa({ 'ca.crt': 'SA CA' });
    expect(() => loadKubeConfig(undefined, { env, serviceAccountDir: noToken })).toThrow(
      kubeconfigError(`${join(noToken, 'token')} does not exist`),
    );
    const noCa = sa({ token: 'abc' });
    expect(() => loadKubeConfig(undefined, { env, serviceAccountDir: noCa })).toThrow(
      kubeconfigError(`the service account CA: cannot read ${join(noCa, 'ca.crt')}: ENOENT`),
    );
    expect(() =>
      loadKubeConfig(undefined, { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, serviceAccountDir: noCa }),
    ).toThrow(kubeconfigError('KUBERNETES_SERVICE_PORT is not'));
  });

  it('uses the rotated token as soon as the kubelet swaps it in', async () => {
    const server = new FakeKubeApiServer({ tls: true, token: 'first' });
    await server.start();
    let client: KubeClient | undefined;
    try {
      const d = tempDir();
      // The kubelet's layout: token → ..data/token, ..data → a timestamped directory, swapped by rename.
      const generation = (name: string, token: string): void => {
        mkdirSync(join(d, name));
        writeFileSync(join(d, name, 'token'), token);
        writeFileSync(join(d, name, 'ca.crt'), server.kubeconfig().certificateAuthority as string);
        symlinkSync(name, join(d, '..data_tmp'));
        renameSync(join(d, '..data_tmp'), join(d, '..data'));
      };
      generation('..2026_01', 'first');
      symlinkSync('..data/token', join(d, 'token'));
      symlinkSync('..data/ca.crt', join(d, 'ca.crt'));
      const url = new URL(server.url);
      const config = loadKubeConfig(undefined, {
        env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
        serviceAccountDir: d,
      });
      client = new KubeClient(config);
      expect((await client.list('/api/v1/namespaces')).items).toHaveLength(2);
      server.setToken('second');
      const refused = await client.list('/api/v1/namespaces').catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(KubeApiError);
      expect((refused as KubeApiError).statusCode).toBe(401);
      generation('..2026_02', 'second');
      expect((await client.list('/api/v1/namespaces')).items).toHaveLength(2);
    } finally {
      client?.close();
      await server.stop();
    }
  });
});
