// runPlugin in-process against a fake kernel (a CommandRunner that models links, addresses and
// routes per namespace, with failure injection): the commands ADD issues, result shapes per
// version, cleanup after a failed step, DEL idempotence, CHECK's findings, STATUS and GC.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command, CommandResult } from '../../../../felix/dataplane/exec.ts';
import { workloadIfaceName } from '../../../../felix/model/endpoints.ts';
import { hostIfaceName, runPlugin } from '../../../../src/cni/plugin.ts';

interface Link {
  mac: string;
  up: boolean;
  alias?: string;
  mtu: number;
  peer?: { ns: string; name: string };
  addrs: string[];
}
interface Route {
  family: 4 | 6;
  dst: string;
  dev: string;
  gateway?: string;
  protocol: string;
}

/** Just enough of iproute2 for margay-cni, one state per namespace ('host', a name or a path). */
class FakeKernel {
  readonly links = new Map<string, Map<string, Link>>();
  readonly routes = new Map<string, Route[]>();
  readonly log: string[] = [];
  failOn: RegExp | undefined;
  #macs = 0;

  ns(key: string): Map<string, Link> {
    let m = this.links.get(key);
    if (!m) {
      m = new Map([['lo', { mac: '00:00:00:00:00:00', up: false, mtu: 65536, addrs: [] }]]);
      this.links.set(key, m);
    }
    return m;
  }
  rt(key: string): Route[] {
    const r = this.routes.get(key) ?? [];
    this.routes.set(key, r);
    return r;
  }

  readonly runner = async (c: Command): Promise<CommandResult> => {
    let argv = [...c.argv];
    let ns = c.netns ?? 'host';
    if (argv[0] === 'nsenter') {
      ns = (argv[1] as string).slice('--net='.length);
      argv = argv.slice(3);
    }
    if (argv[0] === 'ip' && argv[1] === '-n') {
      ns = argv[2] as string;
      argv = ['ip', ...argv.slice(3)];
    }
    const line = `${ns}: ${argv.join(' ')}`;
    this.log.push(line);
    const fail = (stderr: string): CommandResult => {
      if (c.allowFailure) return { stdout: '', stderr, code: 1 };
      throw Object.assign(new Error(`${argv.join(' ')}: ${stderr}`), { result: { stderr } });
    };
    if (this.failOn?.test(line)) return fail('Error: injected failure');
    if (argv[0] === 'sysctl') {
      if (argv[1] === '-n') return { stdout: '1\n', stderr: '', code: 0 };
      return { stdout: '', stderr: '', code: 0 };
    }
    let family: 4 | 6 | undefined;
    let a = argv.slice(1);
    if (a[0] === '-4' || a[0] === '-6') {
      family = a[0] === '-4' ? 4 : 6;
      a = a.slice(1);
    }
    const json = a[0] === '-json';
    if (json) a = a.slice(1);
    if (a[0] === '-details') a = a.slice(1);
    const links = this.ns(ns);
    const out = (v: unknown): CommandResult => ({ stdout: JSON.stringify(v), stderr: '', code: 0 });
    const ok: CommandResult = { stdout: '', stderr: '', code: 0 };
    const dev = (name: string): Link | undefined => links.get(name);
    const [obj, verb] = a;
    if (obj === 'link' && verb === 'show') {
      const name = a[a.indexOf('dev') + 1] as string;
      const l = dev(name);
      if (!l) return fail(`Device "${name}" does not exist.`);
      return out([
        {
          ifindex: 7,
          ifname: name,
          address: l.mac,
          mtu: l.mtu,
          flags: l.up ? ['BROADCAST', 'UP'] : ['BROADCAST'],
          ...(l.alias ? { ifalias: l.alias } : {}),
          linkinfo: { info_kind: 'veth' },
        },
      ]);
    }
    if (obj === 'link' && verb === 'add') {
      const name = a[2] as string;
      const mtuAt = a.indexOf('mtu');
      const peerName = a[a.indexOf('peer') + 2] as string;
      const target = a[a.indexOf('netns') + 1] as string;
      const peerNs = /^\/(?:var\/)?run\/netns\/(.+)$/.exec(target)?.[1] ?? target;
      if (links.has(name)) return fail('RTNETLINK answers: File exists');
      if (this.ns(peerNs).has(peerName)) return fail('RTNETLINK answers: File exists');
      const mac = () => `02:00:00:00:00:${(++this.#macs).toString(16).padStart(2, '0')}`;
      links.set(name, {
        mac: mac(),
        up: false,
        mtu: mtuAt >= 0 ? Number(a[mtuAt + 1]) : 1500,
        peer: { ns: peerNs, name: peerName },
        addrs: [],
      });
      this.ns(peerNs).set(peerName, { mac: mac(), up: false, mtu: 1500, peer: { ns, name }, addrs: [] });
      return ok;
    }
    if (obj === 'link' && verb === 'del') {
      const l = dev(a[2] as string);
      if (!l) return fail(`Cannot find device "${a[2]}"`);
      links.delete(a[2] as string);
      if (l.peer) this.ns(l.peer.ns).delete(l.peer.name);
      this.routes.set(
        ns,
        this.rt(ns).filter((r) => r.dev !== a[2]),
      );
      return ok;
    }
    if (obj === 'link' && verb === 'set') {
      const i = a[2] === 'dev' ? 3 : 2;
      const l = dev(a[i] as string);
      if (!l) return fail(`Cannot find device "${a[i]}"`);
      const [k, v] = [a[i + 1], a[i + 2]];
      if (k === 'up') l.up = true;
      if (k === 'alias') l.alias = v as string;
      if (k === 'mtu') l.mtu = Number(v);
      return ok;
    }
    if (obj === 'addr' && (verb === 'add' || verb === 'replace')) {
      const l = dev(a[a.indexOf('dev') + 1] as string);
      if (!l) return fail('Cannot find device');
      l.addrs.push(a[2] as string);
      return ok;
    }
    if (obj === 'addr' && verb === 'show') {
      const l = dev(a[a.indexOf('dev') + 1] as string);
      const info = (l?.addrs ?? [])
        .filter((x) => family === undefined || x.includes(':') === (family === 6))
        .map((x) => ({ local: x.split('/')[0], prefixlen: Number(x.split('/')[1]) }));
      return out(l ? [{ addr_info: info }] : []);
    }
    if (obj === 'route' && verb === 'replace') {
      const dst = a[2] as string;
      const r: Route = {
        family: family ?? (dst.includes(':') ? 6 : 4),
        dst: dst === 'default' ? 'default' : dst.replace(/\/(32|128)$/, ''),
        dev: a[a.indexOf('dev') + 1] as string,
        protocol: a.includes('proto') ? (a[a.indexOf('proto') + 1] as string) : 'boot',
        ...(a.includes('via') ? { gateway: a[a.indexOf('via') + 1] as string } : {}),
      };
      const rest = this.rt(ns).filter((x) => !(x.family === r.family && x.dst === r.dst));
      this.routes.set(ns, [...rest, r]);
      return ok;
    }
    if (obj === 'route' && verb === 'show') {
      const want = a[2] === 'exact' ? (a[3] as string).replace(/\/(32|128)$/, '') : 'default';
      return out(this.rt(ns).filter((r) => r.family === family && r.dst === want));
    }
    return fail(`fake kernel: unhandled ${line}`);
  };
}

let dataDir = '';
let k: FakeKernel;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'mgy-cni-plugin-'));
  k = new FakeKernel();
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const NETNS = '/var/run/netns/pod1';
const env = (command: string, over: Record<string, string | undefined> = {}) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: NETNS,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
  ...over,
});
const conf = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'net',
    type: 'margay-cni',
    mtu: 1400,
    ipam: {
      type: 'margay',
      ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: '2001:db8:1::/64' }]],
      dataDir,
    },
    ...over,
  });
const HOST = workloadIfaceName('default', 'web-0');

async function call(command: string, stdin = conf(), over: Record<string, string | undefined> = {}) {
  const out = await runPlugin({
    env: env(command, over),
    stdin,
    runner: k.runner,
    netnsExists: (p) => p.startsWith('/var/run/netns/pod'),
  });
  return {
    ...out,
    json: out.stdout === '' ? undefined : (JSON.parse(out.stdout) as Record<string, unknown>),
  };
}

describe('ADD', () => {
  it('wires the routing model and returns a 1.0.0 result', async () => {
    const r = await call('ADD');
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: HOST, mac: '02:00:00:00:00:01' },
        { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: NETNS },
      ],
      ips: [
        { address: '10.244.1.1/32', gateway: '169.254.1.1', interface: 1 },
        { address: '2001:db8:1::1/128', gateway: 'fe80::1', interface: 1 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '169.254.1.1' },
        { dst: '::/0', gw: 'fe80::1' },
      ],
      dns: {},
    });
    expect(k.log).toEqual(
      expect.arrayContaining([
        `host: ip link add ${HOST} mtu 1400 type veth peer name eth0 netns ${NETNS}`,
        `host: ip link set dev ${HOST} alias margay:c1`,
        'pod1: ip link set dev eth0 mtu 1400',
        'pod1: ip addr add 10.244.1.1/32 dev eth0',
        'pod1: ip -4 route replace default via 169.254.1.1 dev eth0 onlink',
        'pod1: ip -6 route replace default via fe80::1 dev eth0',
        `host: ip -4 route replace 10.244.1.1/32 dev ${HOST} scope link proto 109`,
        `host: ip -6 route replace 2001:db8:1::1/128 dev ${HOST} proto 109`,
      ]),
    );
  });

  it('answers 0.4.0 with ips[].version and passes dns through', async () => {
    const r = await call('ADD', conf({ cniVersion: '0.4.0', dns: { nameservers: ['10.96.0.10'] } }));
    expect(r.json).toMatchObject({
      cniVersion: '0.4.0',
      ips: [{ version: '4' }, { version: '6' }],
      dns: { nameservers: ['10.96.0.10'] },
    });
  });

  it('a /proc/PID/ns/net sandbox runs the pod side through nsenter', async () => {
    const path = '/proc/4242/ns/net';
    const out = await runPlugin({
      env: env('ADD', { CNI_NETNS: path }),
      stdin: conf(),
      runner: k.runner,
      netnsExists: () => true,
    });
    expect(out.exitCode).toBe(0);
    expect(k.log).toContain(`${path}: ip addr add 10.244.1.1/32 dev eth0`);
  });

  it('routeProtocol follows the agent setting', async () => {
    await call('ADD', conf({ routeProtocol: 77 }));
    expect(k.log).toContain(`host: ip -4 route replace 10.244.1.1/32 dev ${HOST} scope link proto 77`);
  });

  it('a failed step removes the veth again and frees the address (CNI 103)', async () => {
    k.failOn = /route replace 2001/;
    const r = await call('ADD');
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ code: 103, msg: expect.stringContaining(HOST) });
    expect(k.ns('host').has(HOST)).toBe(false);
    expect(readdirSync(join(dataDir, 'net')).filter((f) => !f.startsWith('last'))).toEqual([]);
  });

  it('a missing netns is CNI 102 and allocates nothing', async () => {
    const r = await call('ADD', conf(), { CNI_NETNS: '/var/run/netns/gone' });
    expect(r.json).toMatchObject({ code: 102, msg: expect.stringContaining('/var/run/netns/gone') });
    expect(k.log).toEqual([]);
  });

  it('a retried ADD replaces the veth and keeps the addresses', async () => {
    const first = await call('ADD');
    const again = await call('ADD');
    expect(again.exitCode).toBe(0);
    expect(again.json?.ips).toEqual(first.json?.ips);
    expect(k.log).toContain(`host: ip link del ${HOST}`);
  });

  it('a full pod CIDR is CNI 100 naming it, before any wiring', async () => {
    const small = conf({ ipam: { type: 'margay', ranges: [[{ subnet: '10.244.9.0/30' }]], dataDir } });
    await call('ADD', small, {
      CNI_CONTAINERID: 'a',
      CNI_NETNS: '/var/run/netns/poda',
      CNI_ARGS: 'K8S_POD_NAMESPACE=d;K8S_POD_NAME=a',
    });
    await call('ADD', small, {
      CNI_CONTAINERID: 'b',
      CNI_NETNS: '/var/run/netns/podb',
      CNI_ARGS: 'K8S_POD_NAMESPACE=d;K8S_POD_NAME=b',
    });
    const before = k.log.length;
    const r = await call('ADD', small, {
      CNI_CONTAINERID: 'c',
      CNI_NETNS: '/var/run/netns/podc',
      CNI_ARGS: 'K8S_POD_NAMESPACE=d;K8S_POD_NAME=c',
    });
    expect(r.json).toMatchObject({
      code: 100,
      msg: 'pod CIDR 10.244.9.0/30 is full: every address is allocated',
    });
    expect(k.log.length).toBe(before);
  });

  it('without K8S args the veth is named from container and interface', () => {
    expect(
      hostIfaceName({ podNamespace: undefined, podName: undefined, containerId: 'c1', ifName: 'eth0' }),
    ).toBe(workloadIfaceName('c1', 'eth0'));
  });
});

describe('DEL', () => {
  it('removes the veth and frees the addresses; twice and without netns is fine', async () => {
    await call('ADD');
    expect((await call('DEL')).exitCode).toBe(0);
    expect(k.ns('host').has(HOST)).toBe(false);
    expect(readdirSync(join(dataDir, 'net')).filter((f) => !f.startsWith('last'))).toEqual([]);
    expect((await call('DEL')).stdout).toBe('');
    expect((await call('DEL', conf(), { CNI_NETNS: undefined })).exitCode).toBe(0);
  });

  it("leaves another sandbox's veth of the same pod alone", async () => {
    await call('ADD', conf(), { CNI_CONTAINERID: 'new' });
    expect((await call('DEL', conf(), { CNI_CONTAINERID: 'old' })).exitCode).toBe(0);
    expect(k.ns('host').get(HOST)?.alias).toBe('margay:new');
  });
});

describe('CHECK', () => {
  async function added() {
    const r = await call('ADD');
    return conf({ prevResult: r.json });
  }

  it('passes on what ADD left', async () => {
    const stdin = await added();
    const r = await call('CHECK', stdin);
    expect([r.exitCode, r.stdout]).toEqual([0, '']);
  });

  it('names every broken piece (CNI 104)', async () => {
    const stdin = await added();
    k.routes.set('host', []);
    const pod = k.ns('pod1').get('eth0') as Link;
    pod.addrs = pod.addrs.filter((a) => !a.startsWith('10.'));
    const r = await call('CHECK', stdin);
    expect(r.json).toMatchObject({ code: 104 });
    const msg = String(r.json?.msg);
    expect(msg).toContain(`the node has no route 10.244.1.1/32 dev ${HOST}`);
    expect(msg).toContain(`the node has no route 2001:db8:1::1/128 dev ${HOST}`);
    expect(msg).toContain('eth0 lacks its address 10.244.1.1/32');
  });

  it('a down veth, a wrong MTU and a foreign alias are found', async () => {
    const stdin = await added();
    const host = k.ns('host').get(HOST) as Link;
    host.up = false;
    host.alias = 'margay:someone-else';
    (k.ns('pod1').get('eth0') as Link).mtu = 1500;
    const msg = String((await call('CHECK', stdin)).json?.msg);
    expect(msg).toContain(`host veth ${HOST} is down`);
    expect(msg).toContain('belongs to margay:someone-else');
    expect(msg).toContain('eth0 has MTU 1500, want 1400');
  });

  it('needs prevResult (7) and cniVersion 0.4.0+ (1); an unknown container is 3', async () => {
    expect((await call('CHECK')).json).toMatchObject({ code: 7, msg: expect.stringContaining('prevResult') });
    expect((await call('CHECK', conf({ cniVersion: '0.3.1', prevResult: {} }))).json).toMatchObject({
      code: 1,
    });
    const prev = { cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.244.1.1/32' }] };
    expect((await call('CHECK', conf({ prevResult: prev }))).json).toMatchObject({ code: 3 });
  });
});

describe('VERSION, STATUS, GC and bad input', () => {
  it('VERSION needs no other variable', async () => {
    const out = await runPlugin({ env: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"1.0.0"}' });
    expect(JSON.parse(out.stdout)).toMatchObject({
      cniVersion: '1.0.0',
      supportedVersions: expect.any(Array),
    });
  });

  it('STATUS (1.1.0): 50 until the pod CIDR file exists, then ready', async () => {
    const file = join(dataDir, 'pod-cidrs');
    const stdin = conf({ cniVersion: '1.1.0', ipam: { type: 'margay', podCIDRsFile: file, dataDir } });
    expect((await call('STATUS', stdin)).json).toMatchObject({ cniVersion: '1.1.0', code: 50 });
    writeFileSync(file, '10.244.1.0/24\n');
    expect((await call('STATUS', stdin)).exitCode).toBe(0);
    // ADD before the file existed would have been "try again later".
    rmSync(file);
    expect((await call('ADD', stdin)).json).toMatchObject({ code: 11 });
  });

  it('GC (1.1.0) frees what is not a valid attachment', async () => {
    await call('ADD', conf({ cniVersion: '1.1.0' }));
    await call('ADD', conf({ cniVersion: '1.1.0' }), {
      CNI_CONTAINERID: 'c2',
      CNI_NETNS: '/var/run/netns/pod2',
      CNI_ARGS: 'K8S_POD_NAMESPACE=d;K8S_POD_NAME=b',
    });
    const gc = conf({
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }],
    });
    expect((await call('GC', gc)).exitCode).toBe(0);
    expect(
      readdirSync(join(dataDir, 'net'))
        .filter((f) => !f.startsWith('last'))
        .sort(),
    ).toEqual(['10.244.1.2', '2001:db8:1::2']);
    expect((await call('GC', conf({ cniVersion: '1.0.0' }))).json).toMatchObject({ code: 1 });
    // The draft key libcni also sends; an empty valid list frees everything.
    expect((await call('GC', conf({ cniVersion: '1.1.0', 'cni.dev/attachments': [] }))).exitCode).toBe(0);
    expect(readdirSync(join(dataDir, 'net')).filter((f) => !f.startsWith('last'))).toEqual([]);
    expect((await call('GC', conf({ cniVersion: '1.1.0' }))).json).toMatchObject({ code: 7 });
  });

  it('errors carry the config cniVersion and are logged with the invocation', async () => {
    const r = await call('ADD', conf({ cniVersion: '0.4.0', mtu: 5 }));
    expect(r.json).toMatchObject({ cniVersion: '0.4.0', code: 7, msg: expect.stringContaining('mtu') });
    expect(JSON.parse(r.logLine)).toMatchObject({ command: 'ADD', containerId: 'c1', error: { code: 7 } });
    const bad = await runPlugin({ env: env('ADD'), stdin: 'nope' });
    expect(JSON.parse(bad.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 6 });
  });

  it('log level error logs failures only; debug adds the result', async () => {
    const file = join(dataDir, 'cni.log');
    const quiet = await call('ADD', conf({ log: { file, level: 'error' } }));
    expect(quiet.logFile).toBeUndefined();
    const loud = await call('ADD', conf({ log: { file, level: 'debug' } }));
    expect(loud.logFile).toBe(file);
    expect(JSON.parse(loud.logLine)).toHaveProperty('result.ips');
  });
});
