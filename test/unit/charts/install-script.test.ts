// The init containers' script as the chart ships it (install.mjs out of the rendered ConfigMap),
// run the way the DaemonSet runs it: `node install.mjs cni` with the env the template sets, a
// service-account token, the API server over HTTPS with its CA in NODE_EXTRA_CA_CERTS (here the
// fake kube-apiserver, test/fakes), and the host directories under a temporary root. The written
// conflist is read back with margay-cni's own parser (src/cni/config.ts), the agent configuration
// with src/config/agent.ts.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseNetConf, resolveRanges } from '../../../src/cni/config.ts';
import { parseAgentConfig } from '../../../src/config/agent.ts';
import { FakeKubeApiServer } from '../../fakes/kube-apiserver.ts';
import { waitUntil } from '../fakes/wait.ts';
import { render } from './helm.ts';

const TOKEN = 'sa-token-for-the-install-test';

function configMapData(values: string[] = []): Record<string, string> {
  const cm = render({ values }).find((o) => o.kind === 'ConfigMap');
  if (cm === undefined) throw new Error('no ConfigMap rendered');
  return cm.data as Record<string, string>;
}

function initEnv(values: string[], name: string): Record<string, string> {
  const ds = render({ values }).find((o) => o.kind === 'DaemonSet')!;
  const init = (
    ds.spec as {
      template: { spec: { initContainers: { name: string; env: { name: string; value?: string }[] }[] } };
    }
  ).template.spec.initContainers.find((c) => c.name === name)!;
  return Object.fromEntries(init.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('install.mjs cni', () => {
  let server: FakeKubeApiServer;
  let root: string;
  let script: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = new FakeKubeApiServer({ tls: true, token: TOKEN });
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'margay-install-'));
    script = join(root, 'install.mjs');
    writeFileSync(script, configMapData()['install.mjs']!);
    const ca = (parseYaml(server.kubeconfigYaml()) as { clusters: { cluster: Record<string, string> }[] })
      .clusters[0]!.cluster['certificate-authority-data']!;
    writeFileSync(join(root, 'ca.crt'), Buffer.from(ca, 'base64'));
    writeFileSync(join(root, 'token'), `${TOKEN}\n`);
    mkdirSync(join(root, 'image'));
    writeFileSync(join(root, 'image/margay-cni'), '#!/bin/sh\necho margay-cni\n');
    writeFileSync(join(root, 'image/portmap'), '#!/bin/sh\necho portmap\n');
    env = {
      // As templates/daemonset.yaml sets them (CNI_MTU etc.), then the paths under `root`.
      ...initEnv([], 'install-cni'),
      NODENAME: 'node-1',
      NODE_EXTRA_CA_CERTS: join(root, 'ca.crt'),
      KUBERNETES_API_URL: server.url,
      SA_TOKEN_FILE: join(root, 'token'),
      CNI_BIN_DIR: join(root, 'host/opt/cni/bin'),
      CNI_CONF_DIR: join(root, 'host/etc/cni/net.d'),
      MARGAY_STATE_DIR: join(root, 'host/var/lib/margay'),
      MARGAY_HOST_STATE_DIR: join(root, 'host/var/lib/margay'),
      MARGAY_CNI_SOURCE: join(root, 'image/margay-cni'),
      PORTMAP_SOURCE: join(root, 'image/portmap'),
      POD_CIDR_POLL_MS: '100',
    };
  });
  afterEach(() => {
    server.remove('Node', undefined, 'node-1');
    rmSync(root, { recursive: true, force: true });
  });

  const node = (spec: { podCIDR?: string; podCIDRs?: string[] }) =>
    server.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec });

  it('installs the plugin and portmap and writes a conflist margay-cni accepts, with the node’s pod CIDRs', async () => {
    node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] });
    const r = await run(script, ['cni'], env);
    expect(r.code, r.stderr).toBe(0);

    const plugin = join(env.CNI_BIN_DIR!, 'margay-cni');
    expect(readFileSync(plugin, 'utf8')).toContain('echo margay-cni');
    expect(statSync(plugin).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(env.CNI_BIN_DIR!, 'portmap'), 'utf8')).toContain('echo portmap');

    const list = JSON.parse(readFileSync(join(env.CNI_CONF_DIR!, '10-margay.conflist'), 'utf8')) as {
      cniVersion: string;
      name: string;
      plugins: Record<string, unknown>[];
    };
    expect(list.plugins.map((p) => p.type)).toEqual(['margay-cni', 'portmap']);
    expect(list.plugins[1]).toEqual({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
    // What the runtime hands margay-cni: the list's cniVersion and name plus the plugin's own keys.
    const conf = parseNetConf(
      JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] }),
    );
    expect(conf.mtu).toBe(1500);
    expect(conf.routeProtocol).toBe(109);
    expect(conf.ipam.dataDir).toBe(join(env.MARGAY_HOST_STATE_DIR!, 'ipam'));
    const ranges = resolveRanges(conf.ipam);
    expect(ranges.map((set) => set.map((r) => r.family))).toEqual([[4], [6]]);
    expect(readFileSync(conf.ipam.podCIDRsFile!, 'utf8')).toContain('fd00:10:244:1::/64');
    // No temporary files left behind next to the targets.
    for (const dir of [env.CNI_BIN_DIR!, env.CNI_CONF_DIR!, env.MARGAY_STATE_DIR!]) {
      expect(readdir(dir).filter((f) => f.includes('margay-tmp'))).toEqual([]);
    }
  });

  it('keeps the node’s own portmap plugin', async () => {
    node({ podCIDRs: ['10.244.2.0/24'] });
    mkdirSync(env.CNI_BIN_DIR!, { recursive: true });
    writeFileSync(join(env.CNI_BIN_DIR!, 'portmap'), 'the node’s own');
    const r = await run(script, ['cni'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(env.CNI_BIN_DIR!, 'portmap'), 'utf8')).toBe('the node’s own');
  });

  it('waits for the controller manager to assign the pod CIDR', async () => {
    node({});
    const reads = () => server.requests.filter((q) => q.path === '/api/v1/nodes/node-1').length;
    const before = reads();
    const pending = run(script, ['cni'], { ...env, POD_CIDR_TIMEOUT_SECONDS: '20' });
    // It has read the node twice and found no pod CIDR: it waited after the first read, and
    // wrote nothing meanwhile.
    await waitUntil(() => reads() >= before + 2, 'the script reading the node twice', 10_000);
    expect(existsSync(join(env.CNI_CONF_DIR!, '10-margay.conflist'))).toBe(false);
    node({ podCIDRs: ['10.244.3.0/24'] });
    const r = await pending;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('has no spec.podCIDRs yet');
    expect(readFileSync(join(env.MARGAY_STATE_DIR!, 'pod-cidrs'), 'utf8')).toContain('10.244.3.0/24');
  });

  it('fails naming the node when no pod CIDR comes, and writes no conflist', async () => {
    node({});
    const r = await run(script, ['cni'], { ...env, POD_CIDR_TIMEOUT_SECONDS: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/node node-1 has no spec\.podCIDRs yet .*gave up after 1 s/);
    expect(existsSync(join(env.CNI_CONF_DIR!, '10-margay.conflist'))).toBe(false);
    expect(existsSync(join(env.CNI_BIN_DIR!, 'margay-cni'))).toBe(false);
  });

  it('fails naming the cause when the API server refuses the token', async () => {
    node({ podCIDRs: ['10.244.4.0/24'] });
    writeFileSync(env.SA_TOKEN_FILE!, 'wrong-token');
    const r = await run(script, ['cni'], { ...env, POD_CIDR_TIMEOUT_SECONDS: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read node node-1');
    expect(r.stderr).toContain('401');
  });

  it('writes the pod interface MTU and log level the chart computes (VXLAN: 50 less)', async () => {
    node({ podCIDRs: ['10.244.5.0/24'] });
    const vxlan = initEnv(['vxlan.yaml'], 'install-cni');
    const r = await run(script, ['cni'], {
      ...env,
      CNI_MTU: vxlan.CNI_MTU!,
      CNI_LOG_LEVEL: vxlan.CNI_LOG_LEVEL!,
    });
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(readFileSync(join(env.CNI_CONF_DIR!, '10-margay.conflist'), 'utf8'));
    expect(list.plugins[0].mtu).toBe(1450);
    expect(list.plugins[0].log).toEqual({ level: 'debug' });
  });
});

function readdir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('install.mjs config', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'margay-config-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('adds the token from the Secret to the rendered agent configuration, readable by root only', async () => {
    const data = configMapData(['api-token.yaml']);
    writeFileSync(join(root, 'install.mjs'), data['install.mjs']!);
    writeFileSync(join(root, 'agent.json'), data['agent.json']!);
    const out = join(root, 'run/agent.json');
    const token = 'a-token-from-kubectl-create-secret';
    const r = await run(join(root, 'install.mjs'), ['config', join(root, 'agent.json'), out], {
      MARGAY_API_TOKEN: `${token}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const config = parseAgentConfig(parseYaml(readFileSync(out, 'utf8')));
    expect(config.api.token).toBe(token);
    expect(config.api.listen).toEqual({ host: '0.0.0.0', port: 9099 });
    chmodSync(out, 0o644);
  });

  it('refuses a token shorter than the agent accepts', async () => {
    const data = configMapData(['api-token.yaml']);
    writeFileSync(join(root, 'install.mjs'), data['install.mjs']!);
    writeFileSync(join(root, 'agent.json'), data['agent.json']!);
    const r = await run(
      join(root, 'install.mjs'),
      ['config', join(root, 'agent.json'), join(root, 'out.json')],
      {
        MARGAY_API_TOKEN: 'short',
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('at least 16 characters');
    expect(existsSync(join(root, 'out.json'))).toBe(false);
  });
});
