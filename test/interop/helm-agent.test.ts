// The chart's pod, minus the container runtime: the agent configuration from the rendered
// ConfigMap, the token added by the chart's own init script from the rendered Secret, the real
// `margay agent` started with the DaemonSet's env against the fake kube-apiserver holding the
// rendered margay.io objects, then the DaemonSet's exact probe commands and the NOTES.txt
// `margayctl node status` with the pod's MARGAY_API / MARGAY_API_TOKEN. What differs from a
// cluster, and why: the datastore gets a kubeconfig for the fake instead of the in-cluster service
// account, and the dataplane is off (`dataplane.enabled=false`: no root needed, no host changes).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FakeKubeApiServer, type KubeObject as FakeObject } from '../fakes/kube-apiserver.ts';
import { type KubeObject, REPO, render } from '../unit/charts/helm.ts';

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
type Container = { name: string; command: string[]; env: Env[]; livenessProbe: Probe; readinessProbe: Probe };
type Probe = { exec: { command: string[] } };

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `margay …` / `margayctl …` as the image runs them, from the source tree. */
function command(argv: readonly string[]): string[] {
  const [cmd, ...rest] = argv;
  const entry = cmd === 'margayctl' ? 'src/ctl/main.ts' : cmd === 'margay' ? 'src/main.ts' : undefined;
  if (entry === undefined) throw new Error(`not a margay command: ${argv.join(' ')}`);
  return [join(REPO, entry), ...rest];
}

function exec(argv: readonly string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, command(argv), {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 15_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the chart’s agent pod, API beyond loopback with a generated token', () => {
  let server: FakeKubeApiServer;
  let dir: string;
  let agentProcess: ChildProcess | undefined;
  let agentLog = '';
  let container: Container;
  let podEnv: Record<string, string>;
  let token: string;

  beforeAll(async () => {
    const apiPort = await freePort();
    const bgpPort = await freePort();
    const objs = render({
      values: ['api-token.yaml'],
      set: [`api.listen=0.0.0.0:${apiPort}`, `bgp.listenPort=${bgpPort}`, 'dataplane.enabled=false'],
    });
    const byKind = (kind: string) => objs.filter((o) => o.kind === kind);
    const secret = byKind('Secret')[0] as KubeObject & { data: Record<string, string> };
    const ds = byKind('DaemonSet')[0] as KubeObject & {
      spec: { template: { spec: { containers: Container[]; initContainers: Container[] } } };
    };
    container = ds.spec.template.spec.containers.find((c) => c.name === 'margay')!;
    const envValue = (e: Env): string | undefined => {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) return Buffer.from(secret.data[ref.key]!, 'base64').toString();
      return e.value;
    };
    podEnv = Object.fromEntries(
      container.env.flatMap((e) => {
        const v = envValue(e);
        return v === undefined ? [] : [[e.name, v]];
      }),
    );
    podEnv.NODENAME = 'node-1'; // fieldRef spec.nodeName
    token = podEnv.MARGAY_API_TOKEN!;

    server = new FakeKubeApiServer();
    await server.start();
    server.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
      spec: { podCIDRs: ['10.244.1.0/24'] },
      status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] },
    });
    for (const o of objs.filter((x) => x.apiVersion === 'margay.io/v1'))
      server.apply(o as unknown as FakeObject);

    // The two init steps the pod runs before the agent: the ConfigMap's agent.json, and the chart's
    // install.mjs adding the token from the Secret.
    dir = mkdtempSync(join(tmpdir(), 'margay-helm-agent-'));
    const data = byKind('ConfigMap')[0]!.data as Record<string, string>;
    writeFileSync(join(dir, 'kubeconfig'), server.kubeconfigYaml());
    const config = parseYaml(data['agent.json']!) as { datastore: Record<string, string> };
    config.datastore.kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(join(dir, 'agent.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'install.mjs'), data['install.mjs']!);
    const init = ds.spec.template.spec.initContainers.find((c) => c.name === 'agent-config')!;
    const merged = spawnSync(
      process.execPath,
      [join(dir, 'install.mjs'), 'config', join(dir, 'agent.json'), join(dir, 'run-agent.json')],
      {
        encoding: 'utf8',
        env: { MARGAY_API_TOKEN: envValue(init.env.find((e) => e.name === 'MARGAY_API_TOKEN')!)! },
      },
    );
    expect(merged.status, merged.stderr).toBe(0);

    const argv = [...container.command];
    expect(argv.slice(0, 3)).toEqual(['margay', 'agent', '--config']);
    argv[3] = join(dir, 'run-agent.json');
    agentProcess = spawn(process.execPath, command(argv), {
      env: { PATH: process.env.PATH ?? '', ...podEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agentProcess.stdout?.on('data', (d: Buffer) => (agentLog += d.toString()));
    agentProcess.stderr?.on('data', (d: Buffer) => (agentLog += d.toString()));

    // The readiness probe, polled the way the kubelet does, with a deadline.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = exec(container.readinessProbe.exec.command, {});
      if (r.status === 0) break;
      if (agentProcess.exitCode !== null || Date.now() > deadline)
        throw new Error(`agent never became ready: ${r.output}\nagent log:\n${agentLog}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }, 60_000);

  afterAll(async () => {
    if (agentProcess && agentProcess.exitCode === null) {
      const exited = new Promise((r) => agentProcess!.once('exit', r));
      agentProcess.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the liveness and readiness exec probes pass without the token', () => {
    expect(exec(container.livenessProbe.exec.command, {}).status).toBe(0);
    expect(exec(container.readinessProbe.exec.command, {}).status).toBe(0);
  });

  it('the NOTES.txt next step works in the pod: margayctl node status with the pod’s env', () => {
    const r = exec(['margayctl', 'node', 'status'], podEnv);
    expect(r.status, `${r.output}\n${agentLog}`).toBe(0);
    // By default what calicoctl prints, to the byte; this single node has no BGP peer.
    expect(r.output).toBe(
      'Calico process is running.\n\nIPv4 BGP status\nNo IPv4 peers found.\n\nIPv6 BGP status\nNo IPv6 peers found.\n\n',
    );
    const wide = exec(['margayctl', 'node', 'status', '-o', 'wide'], podEnv);
    expect(wide.status).toBe(0);
    expect(wide.output).toMatch(/^Margay process is running \(agent, version \S+\)\.\n/);
    expect(wide.output).toContain('No IPv4 peers found.');
  });

  it('shows a peer whose connections fail in BIRD words, the long INFO wrapped as calicoctl does', async () => {
    // A global BGPPeer at a loopback port. The agent connects from its node address, which this
    // host lacks, so every attempt fails with "Cannot assign requested address" (EADDRNOTAVAIL).
    server.apply({
      apiVersion: 'margay.io/v1',
      kind: 'BGPPeer',
      metadata: { name: 'unreachable' },
      spec: { peerIP: `127.0.0.1:${await freePort()}`, asNumber: 65099 },
    } as unknown as FakeObject);
    const row =
      /^\| 127\.0\.0\.1 +\| global +\| start \| \d\d:\d\d:\d\d \| (Idle|Connect|Active) Socket: Cannot assign +\|\n\| +\| +\| +\| +\| requested address +\|$/m;
    const deadline = Date.now() + 15_000;
    let out = '';
    while (!row.test(out) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      out = exec(['margayctl', 'node', 'status'], podEnv).output;
    }
    expect(out, agentLog).toMatch(row);
    // The wrapped INFO column is 30 wide, its header centred in it.
    expect(out).toContain(`|${' '.repeat(14)}INFO${' '.repeat(14)}|`);
    // -o wide keeps the speaker's own words.
    const wide = exec(['margayctl', 'node', 'status', '-o', 'wide'], podEnv).output;
    expect(wide).toMatch(/\| 127\.0\.0\.1 +\| global .*: Connection failed: EADDRNOTAVAIL +\|/);
  });

  it('the API refuses margayctl without the token', () => {
    const { MARGAY_API_TOKEN: _, ...withoutToken } = podEnv;
    const r = exec(['margayctl', 'node', 'status'], withoutToken);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/401|UNAUTHORIZED/);
    expect(readFileSync(join(dir, 'run-agent.json'), 'utf8')).toContain(token);
  });
});
