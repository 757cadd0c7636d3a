// margay-cni invoked exactly as a container runtime invokes it — CNI_* environment (nothing else:
// no Node on PATH), the network configuration on stdin, run inside the "node" — against real
// network namespaces:
//
//   pods (ip netns / unshare) ─ veth mgy… ─ node (mgyc<pid>-node) ─ eth0 192.0.2.1 ── client 192.0.2.2
//
// The node namespace stands for the host: the plugin runs in it (`ip netns exec`), its routes are
// the node's. The client namespace is "the rest of the network" (portmap's hostPort from outside).
// The plugin is dist/margay-cni when that SEA is newer than its sources, else
// `node src/cni/main.ts` through a wrapper script (cni-sea.test.ts always builds and runs a SEA).
// Everything is removed in afterAll, also after a failure.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workloadIfaceName } from '../../felix/model/endpoints.ts';
import {
  type Attachment,
  addNetworkList,
  type ConfList,
  delNetworkList,
  type PluginRun,
  pluginConfig,
  runPluginProcess,
} from '../../src/cni/invoke.ts';
import { requirePrograms } from '../support/programs.ts';
import { createNamespace, createVeth, deleteNamespace, exec, execHost, ping } from './lib/netns.ts';
import { waitFor } from './lib/wait.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const P = `mgyc${process.pid}-`;
const NODE = `${P}node`;
const CLIENT = `${P}cl`;
const namespaces: string[] = [];
const processes: ChildProcess[] = [];
let work = '';
let cniBin = '';
let dataDir = '';
let pluginKind = '';

/** Newest modification time of the files the plugin is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (p: string): void => {
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else if (p.endsWith('.ts')) newest = Math.max(newest, s.mtimeMs);
  };
  for (const d of ['src/cni', 'felix', 'src/config', 'bgp', 'src/errors.ts']) walk(join(ROOT, d));
  return newest;
}

function installPlugin(dir: string): string {
  const sea = join(ROOT, 'dist', 'margay-cni');
  const target = join(dir, 'margay-cni');
  if (existsSync(sea) && statSync(sea).mtimeMs >= newestSource()) {
    symlinkSync(sea, target);
    return 'SEA dist/margay-cni';
  }
  const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  writeFileSync(target, `#!/bin/sh\nexec ${node} ${join(ROOT, 'src', 'cni', 'main.ts')} "$@"\n`);
  chmodSync(target, 0o755);
  return 'node src/cni/main.ts';
}

async function addNs(name: string): Promise<string> {
  const ns = P + name;
  namespaces.push(ns);
  await createNamespace(ns);
  return ns;
}

function conf(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'mgytest',
    type: 'margay-cni',
    mtu: 1400,
    ipam: {
      type: 'margay',
      ranges: [[{ subnet: '10.244.7.0/24' }], [{ subnet: '2001:db8:7::/64' }]],
      dataDir,
    },
    log: { file: join(work, 'cni.log'), level: 'debug' },
    ...over,
  };
}

function attachment(pod: string, containerId: string, netns?: string): Attachment {
  return {
    containerId,
    ifName: 'eth0',
    ...(netns !== undefined ? { netns } : {}),
    args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod },
  };
}

function cni(command: string, att: Attachment, c: Record<string, unknown> = conf()): Promise<PluginRun> {
  return runPluginProcess(command, 'margay-cni', c, att, {
    cniPath: [cniBin],
    wrapper: ['ip', 'netns', 'exec', NODE],
  });
}

async function mustAdd(att: Attachment, c?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await cni('ADD', att, c);
  expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
  return r.json as Record<string, unknown>;
}

function ipOf(result: Record<string, unknown>, family: 4 | 6): string {
  const ips = result.ips as { address: string }[];
  const ip = ips.find((i) => i.address.includes(':') === (family === 6));
  if (ip === undefined) throw new Error(`no IPv${family} address in ${JSON.stringify(result)}`);
  return ip.address.split('/')[0] as string;
}

async function linkExists(ns: string, name: string): Promise<boolean> {
  return (await execHost(['ip', '-n', ns, 'link', 'show', 'dev', name], { allowFailure: true })).code === 0;
}

async function nodeRoutes(family: 4 | 6): Promise<{ dst: string; dev?: string; protocol?: string }[]> {
  const r = await execHost(['ip', '-n', NODE, `-${family}`, '-json', 'route', 'show']);
  return JSON.parse(r.stdout) as { dst: string; dev?: string; protocol?: string }[];
}

/** A TCP listener (IPv4 and IPv6) in `ns` answering every connection with `reply`; resolves once it listens. */
async function listen(ns: string, port: number, reply: string): Promise<void> {
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, 'socat', `TCP6-LISTEN:${port},ipv6only=0,reuseaddr,fork`, `SYSTEM:echo ${reply}`],
    {
      stdio: 'ignore',
    },
  );
  processes.push(child);
  await waitFor(
    async () => (await exec(ns, ['ss', '-Hltn', `sport = :${port}`])).stdout.includes(`:${port}`),
    { describe: `listener on ${ns}:${port}`, timeoutMs: 5_000, intervalMs: 50 },
  );
}

async function tcpGet(ns: string, host: string, port: number): Promise<string> {
  const target = host.includes(':') ? `TCP6:[${host}]:${port}` : `TCP:${host}:${port}`;
  const r = await exec(ns, ['socat', '-T2', '-', `${target},connect-timeout=2`], {
    allowFailure: true,
    input: '',
  });
  return r.stdout.trim();
}

beforeAll(async () => {
  // The pods' TCP server and client, and the ICMP echo helper.
  requirePrograms('socat', '/usr/bin/python3');
  work = mkdtempSync(join(tmpdir(), 'mgy-cni-'));
  dataDir = join(work, 'ipam');
  cniBin = join(work, 'bin');
  mkdirSync(cniBin);
  pluginKind = installPlugin(cniBin);
  process.stdout.write(`margay-cni interop: plugin is ${pluginKind}\n`);
  namespaces.push(NODE, CLIENT);
  await createNamespace(NODE);
  await createNamespace(CLIENT);
  await createVeth(
    { ns: NODE, ifname: 'eth0', ipv4: '192.0.2.1/24', ipv6: '2001:db8:ff::1/64' },
    { ns: CLIENT, ifname: 'eth0', ipv4: '192.0.2.2/24', ipv6: '2001:db8:ff::2/64' },
  );
  // The node has no default route: proxy ARP for 169.254.1.1 needs a route to it elsewhere
  // (felix podGatewayAnchorRoute), as on a real node the default route provides.
  await execHost(['ip', '-n', NODE, 'route', 'add', '169.254.1.1/32', 'dev', 'eth0']);
  await execHost(['ip', '-n', CLIENT, 'route', 'add', '10.244.0.0/16', 'via', '192.0.2.1']);
  await execHost(['ip', '-n', CLIENT, '-6', 'route', 'add', '2001:db8:7::/48', 'via', '2001:db8:ff::1']);
}, 60_000);

afterAll(async () => {
  for (const p of processes) if (p.pid !== undefined && p.exitCode === null) p.kill('SIGKILL');
  for (const ns of [...namespaces].reverse()) await deleteNamespace(ns);
  if (work !== '') rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('margay-cni invoked as a runtime does', () => {
  let resultA: Record<string, unknown>;
  let resultB: Record<string, unknown>;
  let podA = '';
  let podB = '';

  it('VERSION lists 0.4.0 and 1.0.0', async () => {
    const r = await cni('VERSION', attachment('x', 'x'), { cniVersion: '1.0.0' });
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ cniVersion: '1.0.0' });
    expect((r.json as { supportedVersions: string[] }).supportedVersions).toEqual(
      expect.arrayContaining(['0.4.0', '1.0.0', '1.1.0']),
    );
  });

  it('ADD wires two pods that reach each other (ICMP, TCP, IPv6) and the node routes to them', async () => {
    podA = await addNs('pa');
    podB = await addNs('pb');
    resultA = await mustAdd(attachment('pod-a', 'ctr-a', `/var/run/netns/${podA}`));
    resultB = await mustAdd(attachment('pod-b', 'ctr-b', `/var/run/netns/${podB}`));
    const vethA = workloadIfaceName('default', 'pod-a');
    expect(resultA).toMatchObject({
      cniVersion: '1.0.0',
      interfaces: [{ name: vethA }, { name: 'eth0', sandbox: `/var/run/netns/${podA}` }],
      ips: [
        { address: expect.stringMatching(/^10\.244\.7\.\d+\/32$/), gateway: '169.254.1.1', interface: 1 },
        { address: expect.stringMatching(/^2001:db8:7::[0-9a-f]+\/128$/), gateway: 'fe80::1', interface: 1 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '169.254.1.1' },
        { dst: '::/0', gw: 'fe80::1' },
      ],
    });
    const a4 = ipOf(resultA, 4);
    const b4 = ipOf(resultB, 4);
    expect(a4).not.toBe(b4);
    // The node's route to the pod: the agent's shape and protocol, so the agent adopts it.
    expect(await nodeRoutes(4)).toContainEqual(
      expect.objectContaining({ dst: a4, dev: vethA, protocol: '109' }),
    );
    expect(await nodeRoutes(6)).toContainEqual(
      expect.objectContaining({ dst: ipOf(resultA, 6), dev: vethA, protocol: '109' }),
    );
    // MTU on both ends.
    expect((await execHost(['ip', '-n', podA, 'link', 'show', 'eth0'])).stdout).toContain('mtu 1400');
    expect((await execHost(['ip', '-n', NODE, 'link', 'show', vethA])).stdout).toContain('mtu 1400');
    expect(await ping(podA, b4)).toBe(true);
    expect(await ping(podB, a4)).toBe(true);
    expect(await ping(podA, ipOf(resultB, 6))).toBe(true);
    expect(await ping(CLIENT, a4)).toBe(true);
    await listen(podB, 8080, 'hello-from-b');
    expect(await tcpGet(podA, b4, 8080)).toBe('hello-from-b');
    expect(await tcpGet(podA, ipOf(resultB, 6), 8080)).toBe('hello-from-b');
  }, 60_000);

  it('CHECK passes on intact wiring and catches a deleted route', async () => {
    const att = attachment('pod-a', 'ctr-a', `/var/run/netns/${podA}`);
    const ok = await cni('CHECK', att, conf({ prevResult: resultA }));
    expect(ok.code, ok.stdout).toBe(0);
    const a4 = ipOf(resultA, 4);
    const vethA = workloadIfaceName('default', 'pod-a');
    await execHost(['ip', '-n', NODE, 'route', 'del', `${a4}/32`]);
    const broken = await cni('CHECK', att, conf({ prevResult: resultA }));
    expect(broken.code).toBe(1);
    expect(broken.json).toMatchObject({
      code: 104,
      msg: expect.stringContaining(`no route ${a4}/32 dev ${vethA}`),
    });
    await execHost(['ip', '-n', NODE, 'addr', 'flush', 'dev', vethA, 'scope', 'link']);
    const worse = await cni('CHECK', att, conf({ prevResult: resultA }));
    expect(worse.json).toMatchObject({ code: 104, msg: expect.stringContaining('fe80::1') });
    // A fresh ADD of the same sandbox (a runtime retry) repairs it and keeps the addresses.
    const again = await mustAdd(att);
    expect(again.ips).toEqual(resultA.ips);
    resultA = again;
    expect((await cni('CHECK', att, conf({ prevResult: resultA }))).code).toBe(0);
    expect(await ping(podB, a4)).toBe(true);
  }, 30_000);

  it('DEL removes the veth, its routes and the address; DEL twice and DEL without netns succeed', async () => {
    const att = attachment('pod-b', 'ctr-b', `/var/run/netns/${podB}`);
    const vethB = workloadIfaceName('default', 'pod-b');
    const b4 = ipOf(resultB, 4);
    expect(existsSync(join(dataDir, 'mgytest', b4))).toBe(true);
    const r = await cni('DEL', att, conf({ prevResult: resultB }));
    expect(r.code, r.stdout).toBe(0);
    expect(await linkExists(NODE, vethB)).toBe(false);
    expect(await linkExists(podB, 'eth0')).toBe(false);
    expect((await nodeRoutes(4)).map((x) => x.dst)).not.toContain(b4);
    expect((await nodeRoutes(6)).map((x) => x.dst)).not.toContain(ipOf(resultB, 6));
    expect(existsSync(join(dataDir, 'mgytest', b4))).toBe(false);
    expect(existsSync(join(dataDir, 'mgytest', ipOf(resultB, 6)))).toBe(false);
    expect((await cni('DEL', att)).code).toBe(0);
    expect((await cni('DEL', attachment('pod-b', 'ctr-b'))).code).toBe(0);
    // CHECK of a deleted container: unknown container.
    expect((await cni('CHECK', att, conf({ prevResult: resultB }))).json).toMatchObject({ code: 3 });
    expect(await ping(podA, b4, 500)).toBe(false);
  }, 30_000);

  it('DEL after the pod namespace is gone frees the address', async () => {
    const podC = await addNs('pc');
    const att = attachment('pod-c', 'ctr-c', `/var/run/netns/${podC}`);
    const res = await mustAdd(att);
    await deleteNamespace(podC);
    // The veth pair dies with the namespace, which the kernel tears down asynchronously.
    await waitFor(async () => !(await linkExists(NODE, workloadIfaceName('default', 'pod-c'))), {
      describe: 'the veth of a deleted pod namespace to vanish',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect((await cni('DEL', att)).code).toBe(0);
    expect(existsSync(join(dataDir, 'mgytest', ipOf(res, 4)))).toBe(false);
  }, 30_000);

  it('a late DEL of an old sandbox leaves the new sandbox of the same pod alone', async () => {
    const podD = await addNs('pd');
    const oldAtt = attachment('pod-d', 'ctr-d-old', `/var/run/netns/${podD}`);
    await mustAdd(oldAtt);
    const podD2 = await addNs('pd2');
    const newAtt = attachment('pod-d', 'ctr-d-new', `/var/run/netns/${podD2}`);
    const res = await mustAdd(newAtt); // replaces the old sandbox's veth of the same pod name
    expect((await cni('DEL', oldAtt)).code).toBe(0);
    expect(await linkExists(NODE, workloadIfaceName('default', 'pod-d'))).toBe(true);
    expect(await ping(podA, ipOf(res, 4))).toBe(true);
    expect((await cni('DEL', newAtt)).code).toBe(0);
    expect(await linkExists(NODE, workloadIfaceName('default', 'pod-d'))).toBe(false);
  }, 30_000);

  it('CNI_NETNS as /proc/PID/ns/net (an unnamed namespace, as a runtime creates it)', async () => {
    const holder = spawn('unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' });
    processes.push(holder);
    const pid = holder.pid as number;
    // unshare execs sleep in the new namespace: wait until the PID's netns differs from ours.
    await waitFor(
      async () =>
        (await execHost(['readlink', `/proc/${pid}/ns/net`], { allowFailure: true })).stdout !==
        (await execHost(['readlink', '/proc/self/ns/net'])).stdout,
      { describe: 'unshare --net', timeoutMs: 5_000, intervalMs: 20 },
    );
    const path = `/proc/${pid}/ns/net`;
    const att = attachment('pod-proc', 'ctr-proc', path);
    const res = await mustAdd(att);
    expect(res).toMatchObject({ interfaces: [{}, { name: 'eth0', sandbox: path }] });
    const addr = await execHost([
      'nsenter',
      `--net=${path}`,
      '--',
      'ip',
      '-4',
      'addr',
      'show',
      'dev',
      'eth0',
    ]);
    expect(addr.stdout).toContain(`${ipOf(res, 4)}/32`);
    expect(await ping(podA, ipOf(res, 4))).toBe(true);
    expect((await cni('CHECK', att, conf({ prevResult: res }))).code).toBe(0);
    expect((await cni('DEL', att)).code).toBe(0);
    expect(await linkExists(NODE, workloadIfaceName('default', 'pod-proc'))).toBe(false);
    holder.kill('SIGKILL');
  }, 30_000);

  it('50 concurrent ADDs (50 plugin processes) get 50 distinct addresses; 50 concurrent DELs clean up', async () => {
    const pods: string[] = [];
    for (let i = 0; i < 50; i++) pods.push(await addNs(`m${i}`));
    const atts = pods.map((ns, i) => attachment(`many-${i}`, `ctr-many-${i}`, `/var/run/netns/${ns}`));
    const t0 = performance.now();
    const runs = await Promise.all(atts.map((a) => cni('ADD', a)));
    const addMs = Math.round(performance.now() - t0);
    const failed = runs.filter((r) => r.code !== 0);
    expect(failed.map((r) => r.stdout)).toEqual([]);
    const v4 = runs.map((r) => ipOf(r.json as Record<string, unknown>, 4));
    const v6 = runs.map((r) => ipOf(r.json as Record<string, unknown>, 6));
    expect(new Set(v4).size).toBe(50);
    expect(new Set(v6).size).toBe(50);
    const files = readdirSync(join(dataDir, 'mgytest'));
    for (const a of [...v4, ...v6]) expect(files).toContain(a);
    const links = (await execHost(['ip', '-n', NODE, '-o', 'link', 'show'])).stdout;
    for (let i = 0; i < 50; i++) expect(links).toContain(workloadIfaceName('default', `many-${i}`));
    expect(await ping(pods[0] as string, v4[49] as string)).toBe(true);
    const dels = await Promise.all(atts.map((a) => cni('DEL', a)));
    expect(dels.filter((r) => r.code !== 0).map((r) => r.stdout)).toEqual([]);
    const after = readdirSync(join(dataDir, 'mgytest'));
    for (const a of [...v4, ...v6]) expect(after).not.toContain(a);
    const linksAfter = (await execHost(['ip', '-n', NODE, '-o', 'link', 'show'])).stdout;
    for (let i = 0; i < 50; i++) expect(linksAfter).not.toContain(workloadIfaceName('default', `many-${i}`));
    process.stdout.write(`margay-cni interop: 50 concurrent ADDs took ${addMs} ms (${pluginKind})\n`);
  }, 180_000);

  it('a full pod CIDR is CNI error 100 naming the CIDR, and leaves nothing behind', async () => {
    const small = conf({
      name: 'mgyfull',
      ipam: {
        type: 'margay',
        ranges: [[{ subnet: '10.244.8.0/24', rangeStart: '10.244.8.10', rangeEnd: '10.244.8.11' }]],
        dataDir,
      },
    });
    const ns = [await addNs('f0'), await addNs('f1'), await addNs('f2')];
    const atts = ns.map((n, i) => attachment(`full-${i}`, `ctr-full-${i}`, `/var/run/netns/${n}`));
    await mustAdd(atts[0] as Attachment, small);
    await mustAdd(atts[1] as Attachment, small);
    const r = await cni('ADD', atts[2] as Attachment, small);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({
      cniVersion: '1.0.0',
      code: 100,
      msg: expect.stringContaining('10.244.8.0/24'),
    });
    expect(await linkExists(NODE, workloadIfaceName('default', 'full-2'))).toBe(false);
    for (const a of atts) expect((await cni('DEL', a, small)).code).toBe(0);
    expect(readdirSync(join(dataDir, 'mgyfull')).filter((f) => f.startsWith('10.'))).toEqual([]);
  }, 30_000);

  it('answers a 0.4.0 runtime with a 0.4.0 result (ips[].version)', async () => {
    const ns = await addNs('old');
    const att = attachment('pod-old', 'ctr-old', `/var/run/netns/${ns}`);
    const res = await mustAdd(att, conf({ cniVersion: '0.4.0' }));
    expect(res).toMatchObject({
      cniVersion: '0.4.0',
      ips: [
        { version: '4', address: expect.stringMatching(/\/32$/), interface: 1 },
        { version: '6', address: expect.stringMatching(/\/128$/), interface: 1 },
      ],
    });
    expect((await cni('CHECK', att, conf({ cniVersion: '0.4.0', prevResult: res }))).code).toBe(0);
    expect((await cni('DEL', att, conf({ cniVersion: '0.4.0' }))).code).toBe(0);
  }, 30_000);
});

describe('margay-cni chained with the reference portmap plugin (.conflist, libcni order)', () => {
  const PORTMAP_DIR = '/usr/lib/cni';
  let list: ConfList;
  let pod = '';
  let cached: unknown;
  const att = (): Attachment => ({
    ...attachment('web', 'ctr-web', `/var/run/netns/${pod}`),
    capabilities: { portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }] },
  });
  const opts = () => ({ cniPath: [cniBin, PORTMAP_DIR], wrapper: ['ip', 'netns', 'exec', NODE] });

  it('the portmap plugin is installed (Debian containernetworking-plugins, .ci/setup)', () => {
    expect(existsSync(join(PORTMAP_DIR, 'portmap'))).toBe(true);
  });

  it('ADD through margay-cni then portmap: the hostPort reaches the pod', async () => {
    list = {
      cniVersion: '1.0.0',
      name: 'mgychain',
      plugins: [
        conf({ name: undefined, cniVersion: undefined }),
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ].map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined))),
    };
    pod = await addNs('web');
    cached = await addNetworkList(list, att(), opts());
    // portmap passes margay-cni's result through.
    expect(cached).toMatchObject({ ips: [{ address: expect.stringMatching(/^10\.244\.7\./) }, {}] });
    await listen(pod, 8080, 'hello-via-hostport');
    expect(await tcpGet(CLIENT, '192.0.2.1', 18080)).toBe('hello-via-hostport');
    expect(await tcpGet(NODE, '192.0.2.1', 18080)).toBe('hello-via-hostport');
    // CHECK of margay-cni with the chain's final result (what libcni caches). portmap's own CHECK
    // is not run: Debian's portmap 1.1.1 always fails it, looking for ip6tables rules that ADD
    // never created (containernetworking/plugins#819, fixed in later releases).
    const first = list.plugins[0] as Record<string, unknown>;
    const check = await runPluginProcess(
      'CHECK',
      'margay-cni',
      pluginConfig(list, first, att(), cached),
      att(),
      opts(),
    );
    expect(check.code, check.stdout).toBe(0);
  }, 30_000);

  it('DEL in reverse order removes the port mapping and the pod wiring', async () => {
    await delNetworkList(list, att(), cached, opts());
    const nat = (await exec(NODE, ['iptables-save', '-t', 'nat'])).stdout;
    expect(nat).not.toContain('ctr-web');
    expect(nat).not.toContain('18080');
    expect(await tcpGet(CLIENT, '192.0.2.1', 18080)).toBe('');
    expect(await linkExists(NODE, workloadIfaceName('default', 'web'))).toBe(false);
    await delNetworkList(list, att(), cached, opts()); // twice: still fine
  }, 30_000);
});
