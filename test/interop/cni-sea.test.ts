// The shipped form of margay-cni: a Node single executable application built the way
// `npm run build` builds dist/margay-cni (src/cni/sea/build.ts), run where no Node.js exists:
// an empty environment whose PATH holds only the tools the plugin runs (ip, sysctl, nsenter),
// as a node's container runtime runs it. Then one pod through ADD, CHECK and DEL in namespaces.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workloadIfaceName } from '../../felix/model/endpoints.ts';
import { type Attachment, runPluginProcess } from '../../src/cni/invoke.ts';
import { buildSea, type SeaBuildResult } from '../../src/cni/sea/build.ts';
import { createNamespace, createVeth, deleteNamespace, execHost, ping } from './lib/netns.ts';

const P = `mgys${process.pid}-`;
const NODE = `${P}node`;
const namespaces: string[] = [];
let work = '';
let toolDir = '';
let built: SeaBuildResult;

function which(tool: string): string {
  for (const d of ['/usr/sbin', '/usr/bin', '/sbin', '/bin'])
    if (existsSync(join(d, tool))) return join(d, tool);
  throw new Error(`${tool} not found`);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mgy-cni-sea-'));
  const t0 = performance.now();
  built = await buildSea({ out: join(work, 'bin', 'margay-cni') });
  process.stdout.write(
    `margay-cni SEA: ${(built.bytes / 1024 / 1024).toFixed(1)} MiB, Node ${built.nodeVersion}, built in ${Math.round(performance.now() - t0)} ms\n`,
  );
  // The only programs the plugin may find: no node, no npm.
  toolDir = join(work, 'tools');
  mkdirSync(toolDir);
  for (const t of ['ip', 'sysctl', 'nsenter']) symlinkSync(which(t), join(toolDir, t));
  namespaces.push(NODE);
  await createNamespace(NODE);
}, 120_000);

afterAll(async () => {
  for (const ns of [...namespaces].reverse()) await deleteNamespace(ns);
  if (work !== '') rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('margay-cni single executable', () => {
  it('answers VERSION in an empty environment with no Node on PATH', () => {
    const env = { PATH: toolDir, CNI_COMMAND: 'VERSION' };
    expect(spawnSync('sh', ['-c', 'command -v node'], { env }).status).not.toBe(0);
    const r = spawnSync(built.out, [], { env, input: '{"cniVersion":"0.4.0"}', encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });

  it('reports a bad CNI_COMMAND as a CNI error (code 4), exit 1', () => {
    const r = spawnSync(built.out, [], {
      env: { PATH: toolDir, CNI_COMMAND: 'FROB' },
      input: '{}',
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 4, msg: expect.stringContaining('FROB') });
  });

  it('wires, checks and removes a pod', async () => {
    const pod = `${P}pod`;
    const peer = `${P}peer`;
    namespaces.push(pod, peer);
    await createNamespace(pod);
    await createNamespace(peer);
    await createVeth(
      { ns: NODE, ifname: 'eth0', ipv4: '192.0.2.1/24' },
      { ns: peer, ifname: 'eth0', ipv4: '192.0.2.2/24' },
    );
    await execHost(['ip', '-n', NODE, 'route', 'add', '169.254.1.1/32', 'dev', 'eth0']);
    await execHost(['ip', '-n', peer, 'route', 'add', '10.244.0.0/16', 'via', '192.0.2.1']);
    const conf = {
      cniVersion: '1.0.0',
      name: 'mgysea',
      type: 'margay-cni',
      ipam: { type: 'margay', ranges: [[{ subnet: '10.244.6.0/24' }]], dataDir: join(work, 'ipam') },
    };
    const att: Attachment = {
      containerId: 'sea-1',
      ifName: 'eth0',
      netns: `/var/run/netns/${pod}`,
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'sea' },
    };
    const opts = {
      cniPath: [join(work, 'bin')],
      wrapper: [join(toolDir, 'ip'), 'netns', 'exec', NODE],
      path: toolDir,
    };
    const add = await runPluginProcess('ADD', 'margay-cni', conf, att, opts);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.json).toMatchObject({
      ips: [{ address: '10.244.6.1/32', gateway: '169.254.1.1', interface: 1 }],
    });
    expect(await ping(peer, '10.244.6.1')).toBe(true);
    const check = await runPluginProcess('CHECK', 'margay-cni', { ...conf, prevResult: add.json }, att, opts);
    expect(check.code, check.stdout).toBe(0);
    const del = await runPluginProcess('DEL', 'margay-cni', conf, att, opts);
    expect(del.code, del.stdout).toBe(0);
    const link = await execHost(['ip', '-n', NODE, 'link', 'show', workloadIfaceName('default', 'sea')], {
      allowFailure: true,
    });
    expect(link.code).not.toBe(0);
    expect(existsSync(join(work, 'ipam', 'mgysea', '10.244.6.1'))).toBe(false);
  }, 30_000);
});
