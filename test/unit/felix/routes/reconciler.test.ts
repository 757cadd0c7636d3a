// RouteTable, VxlanManager and IpipManager against a fake command runner with failure injection,
// like Felix's mocknetlink. The real kernel is in test/interop/felix-routes*.test.ts; here: the
// exact commands, -force failure handling, and that a failure makes the next apply re-read.
import { describe, expect, it } from 'vitest';
import { IpipManager, ipipCommands } from '../../../../felix/dataplane/encap/ipip.ts';
import { VxlanManager, vxlanCreateArgs } from '../../../../felix/dataplane/encap/vxlan.ts';
import type { Command, CommandResult } from '../../../../felix/dataplane/exec.ts';
import { Netlink, parseBatchErrors } from '../../../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../../../felix/dataplane/routes/route-table.ts';
import { hostVethSysctls } from '../../../../felix/dataplane/workload/veth.ts';
import { vtepMac } from '../../../../felix/model/routes.ts';
import { FakeRouteKernel } from './fake-kernel.ts';

class FakeRunner {
  readonly calls: Command[] = [];
  /** Kernel routes returned by `ip -json route show` per family. */
  routes: Record<4 | 6, unknown[]> = { 4: [], 6: [] };
  /** Next batch: stderr + exit code to return. */
  nextBatch: { stderr: string; code: number } | undefined;
  responses = new Map<string, CommandResult>();
  run = async (c: Command): Promise<CommandResult> => {
    this.calls.push(c);
    const a = c.argv.join(' ');
    for (const [pattern, r] of this.responses) if (a.includes(pattern)) return r;
    if (a.includes('route show')) {
      return { stdout: JSON.stringify(this.routes[a.includes(' -6 ') ? 6 : 4]), stderr: '', code: 0 };
    }
    if (a.includes('-batch') && this.nextBatch) {
      const r = { stdout: '', ...this.nextBatch };
      this.nextBatch = undefined;
      return r;
    }
    return { stdout: a.includes('-json') ? '[]' : '', stderr: '', code: 0 };
  };
  batches(): string[] {
    return this.calls
      .filter((c) => c.argv.includes('-batch'))
      .map((c) => `${c.argv.join(' ')}\n${c.input ?? ''}`);
  }
}

describe('ip -force -batch error output', () => {
  it('maps each "Command failed -:N" to its line and message', () => {
    const lines = ['route add a', 'route add b', 'route del c'];
    const stderr =
      'Error: Nexthop has invalid gateway.\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:3\n';
    expect(parseBatchErrors(stderr, lines)).toEqual([
      { line: 2, command: 'route add b', message: 'Error: Nexthop has invalid gateway.' },
      { line: 3, command: 'route del c', message: 'RTNETLINK answers: No such process' },
    ]);
  });
});

describe('RouteTable (fake kernel)', () => {
  it('reads both families once, writes one batch per family, then works from its cache', async () => {
    const f = new FakeRunner();
    const rt = new RouteTable({ netlink: new Netlink({ netns: 'n1', runner: f.run }) });
    rt.setDesired([
      { dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }], reason: 'node b' },
      { dst: '2001:db8:1::/64', type: 'blackhole' },
    ]);
    const r = await rt.apply();
    expect(r).toMatchObject({ added: 2, didRead: true });
    expect(f.calls.filter((c) => c.argv.includes('show')).map((c) => c.argv.join(' '))).toEqual([
      'ip -n n1 -4 -json -N -d route show table all proto 109',
      'ip -n n1 -6 -json -N -d route show table all proto 109',
    ]);
    // The families are written concurrently: their batches in either order.
    expect(f.batches().sort()).toEqual([
      'ip -n n1 -4 -force -batch -\nroute add 10.244.1.0/24 proto 109 via 192.0.2.2\n',
      'ip -n n1 -6 -force -batch -\nroute add blackhole 2001:db8:1::/64 proto 109\n',
    ]);
    f.calls.length = 0;
    expect(await rt.apply()).toMatchObject({ added: 0, unchanged: 2, didRead: false });
    expect(f.calls).toEqual([]);
    expect(rt.list().map((l) => [l.route.dst, l.route.reason, l.state])).toEqual([
      ['10.244.1.0/24', 'node b', 'programmed'],
      ['2001:db8:1::/64', undefined, 'programmed'],
    ]);
  });

  it('one route the kernel refuses holds up no other route, in either family', async () => {
    // The two-subnet lab before IPv6 went through VXLAN: node-1's route to an IPv6 pod CIDR on the
    // other subnet `via` an address on no connected subnet. The kernel refuses that one line; the
    // blackholes and the routes within the subnet, IPv4 and IPv6, must go in AND be listed as
    // programmed (the agent announces a pod CIDR only when its blackhole is listed programmed).
    const k = new FakeRouteKernel();
    k.refuse = [{ re: /2001:db8:244:3::/, message: 'RTNETLINK answers: No route to host' }];
    const run = async (c: Command): Promise<CommandResult> =>
      k.handle(c) ?? { stdout: '[]', stderr: '', code: 0 };
    const rt = new RouteTable({ netlink: new Netlink({ runner: run }) });
    rt.setDesired([
      { dst: '10.244.1.0/24', type: 'blackhole' },
      { dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.12' }] },
      { dst: '2001:db8:244:1::/64', type: 'blackhole' },
      { dst: '2001:db8:244:2::/64', nextHops: [{ gateway: '2001:db8:0:1::12' }] },
      { dst: '2001:db8:244:3::/64', nextHops: [{ gateway: '2001:db8:0:2::13' }], reason: 'node-3' },
    ]);
    const r = await rt.apply();
    expect(r).toMatchObject({
      added: 4,
      conflicts: [],
      failed: [
        {
          key: '2001:db8:244:3::/64',
          dst: '2001:db8:244:3::/64',
          table: 254,
          message: 'RTNETLINK answers: No route to host',
        },
      ],
    });
    expect([...k.routes[4].keys(), ...k.routes[6].keys()]).toEqual([
      '10.244.1.0/24',
      '10.244.2.0/24',
      '2001:db8:244:1::/64',
      '2001:db8:244:2::/64',
    ]);
    const states = () => rt.list().map((l) => [l.route.dst, l.state, l.message]);
    expect(states()).toEqual([
      ['10.244.1.0/24', 'programmed', undefined],
      ['10.244.2.0/24', 'programmed', undefined],
      ['2001:db8:244:1::/64', 'programmed', undefined],
      ['2001:db8:244:2::/64', 'programmed', undefined],
      ['2001:db8:244:3::/64', 'failed', 'RTNETLINK answers: No route to host'],
    ]);
    expect(rt.failedCount).toBe(1);
    // The next apply tries the refused route again, and only it, from an exact view (no read).
    k.lines.length = 0;
    expect(await rt.apply()).toMatchObject({ added: 0, unchanged: 4, didRead: false });
    expect(k.lines).toEqual(['route add 2001:db8:244:3::/64 proto 109 via 2001:db8:0:2::13']);
    // Once the kernel takes it, it is programmed and the mark is gone.
    k.refuse = [];
    expect(await rt.apply()).toMatchObject({ added: 1, unchanged: 4, failed: [] });
    expect(rt.list().every((l) => l.state === 'programmed')).toBe(true);
    expect(rt.failedCount).toBe(0);
  });

  it('a refused delete is a BatchError naming it; ESRCH on delete is tolerated; the view is re-read', async () => {
    const f = new FakeRunner();
    f.routes[4] = [
      { dst: '10.244.9.0/24', dev: 'v0', scope: 'link', protocol: '109' },
      { dst: '10.244.8.0/24', dev: 'v0', scope: 'link', protocol: '109' },
    ];
    const rt = new RouteTable({ netlink: new Netlink({ runner: f.run }), families: [4] });
    rt.setDesired([{ dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }] }]);
    // The deletes are the first batch (family-streams.ts: the free phase), the gateway route the
    // second.
    f.nextBatch = {
      code: 1,
      stderr:
        'RTNETLINK answers: No such process\nCommand failed -:1\nRTNETLINK answers: Operation not permitted\nCommand failed -:2\n',
    };
    const err = await rt.apply().catch((e: unknown) => e);
    expect(f.batches()).toEqual([
      'ip -4 -force -batch -\nroute del 10.244.9.0/24 proto 109\nroute del 10.244.8.0/24 proto 109\n',
      'ip -4 -force -batch -\nroute add 10.244.1.0/24 proto 109 via 192.0.2.2\n',
    ]);
    expect(err).toMatchObject({
      code: 'FELIX_ERR_BATCH_FAILED',
      failures: [{ line: 2, command: 'route del 10.244.8.0/24 proto 109' }],
    });
    expect(String((err as Error).message)).toContain('line 2: route del 10.244.8.0/24');
    // Re-read at once: the listing is from the kernel, not from a guess.
    expect(f.calls.filter((c) => c.argv.includes('show'))).toHaveLength(2);
    f.calls.length = 0;
    f.routes[4] = [{ dst: '10.244.1.0/24', gateway: '192.0.2.2', dev: 'v0', protocol: '109' }];
    expect(await rt.resync()).toMatchObject({ didRead: true, added: 0, unchanged: 1 });
  });

  it('a foreign route at a desired key is a conflict, not overwritten', async () => {
    const f = new FakeRunner();
    const rt = new RouteTable({ netlink: new Netlink({ runner: f.run }), families: [4] });
    rt.setDesired([{ dst: '10.244.1.0/24', dev: 'v0' }]);
    f.nextBatch = { code: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' };
    const r = await rt.apply();
    expect(r.conflicts).toEqual([
      {
        key: '10.244.1.0/24',
        dst: '10.244.1.0/24',
        table: 254,
        message: 'RTNETLINK answers: File exists',
      },
    ]);
    expect(rt.list()[0]?.state).toBe('conflict');
    expect(f.batches().join('')).not.toContain('replace');
  });

  it('rejects an invalid or contradictory desired set and keeps the previous one', async () => {
    const rt = new RouteTable({ netlink: new Netlink({ runner: new FakeRunner().run }) });
    rt.setDesired([{ dst: '10.244.1.0/24', dev: 'v0' }]);
    expect(() =>
      rt.setDesired([
        { dst: '10.244.2.0/24', dev: 'v0', reason: 'a' },
        { dst: '10.244.2.0/24', dev: 'v1', reason: 'b' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'FELIX_ERR_INVALID_ROUTE' }));
    expect(rt.list().map((l) => l.route.dst)).toEqual(['10.244.1.0/24']);
  });
});

describe('encapsulation managers (commands)', () => {
  it('VXLAN: creates the device and writes static FDB + neighbour entries per remote', async () => {
    const f = new FakeRunner();
    f.responses.set('link show dev vxlan.margay', {
      stdout: '',
      stderr: 'Device "vxlan.margay" does not exist.',
      code: 1,
    });
    const m = new VxlanManager({
      netlink: new Netlink({ netns: 'n1', runner: f.run }),
      nodeName: 'a',
      underlayAddress: '192.0.2.1',
      underlayMtu: 1500,
      tunnelAddress: '10.244.1.0',
    });
    m.setRemoteVteps([{ nodeName: 'b', nodeIp: '192.0.2.2', tunnelAddress: '10.244.2.0' }]);
    expect(await m.apply()).toMatchObject({ deviceCreated: true, fdbWritten: 1, neighWritten: 1 });
    const cmds = f.calls.map((c) => `${c.argv.join(' ')}${c.input ? `\n${c.input}` : ''}`);
    const mac = vtepMac('b');
    expect(cmds).toContain(
      'ip -n n1 link add vxlan.margay type vxlan id 4096 dstport 4789 local 192.0.2.1 nolearning',
    );
    expect(cmds).toContain(`ip -n n1 link set vxlan.margay mtu 1450 address ${vtepMac('a')} up`);
    expect(cmds).toContain('ip -n n1 -4 addr replace 10.244.1.0/32 dev vxlan.margay');
    expect(cmds).toContain(
      `bridge -n n1 -force -batch -\nfdb replace ${mac} dev vxlan.margay dst 192.0.2.2 self permanent\n`,
    );
    expect(cmds).toContain(
      `ip -n n1 -4 -force -batch -\nneigh replace 10.244.2.0 lladdr ${mac} dev vxlan.margay nud permanent\n`,
    );
    expect(vxlanCreateArgs({ ...m.device, underlayDevice: 'eth0' })).toContain('dev');
  });

  it('VXLAN with IPv6: a second tunnel address and IPv6 neighbours on the same device; adoption; drift', async () => {
    const f = new FakeRunner();
    f.responses.set('link show dev vxlan.margay', {
      stdout: '',
      stderr: 'Device "vxlan.margay" does not exist.',
      code: 1,
    });
    const options = {
      netlink: new Netlink({ runner: f.run }),
      nodeName: 'a',
      underlayAddress: '192.0.2.11',
      tunnelAddress: '10.244.1.0',
      tunnelAddressV6: '2001:db8:244:1::',
    };
    const vteps = [
      {
        nodeName: 'b',
        nodeIp: '198.51.100.13',
        tunnelAddress: '10.244.3.0',
        tunnelAddressV6: '2001:db8:244:3::',
      },
      { nodeName: 'c', nodeIp: '192.0.2.12', tunnelAddress: '10.244.2.0' },
    ];
    const m = new VxlanManager(options);
    m.setRemoteVteps(vteps);
    expect(await m.apply()).toMatchObject({ deviceCreated: true, fdbWritten: 2, neighWritten: 3 });
    const cmds = f.calls.map((c) => `${c.argv.join(' ')}${c.input ? `\n${c.input}` : ''}`);
    const [mb, mc] = [vtepMac('b'), vtepMac('c')];
    expect(cmds).toContain('ip -4 addr replace 10.244.1.0/32 dev vxlan.margay');
    expect(cmds).toContain('ip -6 addr replace 2001:db8:244:1::/128 dev vxlan.margay nodad');
    expect(cmds).toContain(
      'bridge -force -batch -\n' +
        `fdb replace ${mb} dev vxlan.margay dst 198.51.100.13 self permanent\n` +
        `fdb replace ${mc} dev vxlan.margay dst 192.0.2.12 self permanent\n`,
    );
    expect(cmds).toContain(
      'ip -4 -force -batch -\n' +
        `neigh replace 10.244.3.0 lladdr ${mb} dev vxlan.margay nud permanent\n` +
        `neigh replace 10.244.2.0 lladdr ${mc} dev vxlan.margay nud permanent\n`,
    );
    expect(cmds).toContain(
      `ip -6 -force -batch -\nneigh replace 2001:db8:244:3:: lladdr ${mb} dev vxlan.margay nud permanent\n`,
    );

    // A restarted agent finds all of it (plus the kernel's own fe80:: address and a non-permanent
    // IPv6 neighbour, neither of them ours) and writes nothing.
    const link = [
      {
        ifname: 'vxlan.margay',
        mtu: 1450,
        address: vtepMac('a'),
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        linkinfo: {
          info_kind: 'vxlan',
          info_data: { id: 4096, port: 4789, local: '192.0.2.11', learning: false },
        },
      },
    ];
    const addrs = [
      {
        ifname: 'vxlan.margay',
        addr_info: [
          { family: 'inet', local: '10.244.1.0', prefixlen: 32, scope: 'global' },
          { family: 'inet6', local: '2001:db8:244:1::', prefixlen: 128, scope: 'global' },
          { family: 'inet6', local: 'fe80::1c2d:3eff:fe4f:5a6b', prefixlen: 64, scope: 'link' },
        ],
      },
    ];
    const fdb = [
      { mac: mb, dst: '198.51.100.13', state: 'permanent' },
      { mac: mc, dst: '192.0.2.12', state: 'permanent' },
    ];
    const neigh = [
      { dst: '10.244.3.0', lladdr: mb, state: ['PERMANENT'] },
      { dst: '10.244.2.0', lladdr: mc, state: ['PERMANENT'] },
      { dst: '2001:db8:244:3::', lladdr: mb, state: ['PERMANENT'] },
      { dst: 'fe80::99', lladdr: mb, state: ['STALE'] },
    ];
    const kernel = new FakeRunner();
    kernel.responses.set('link show dev vxlan.margay', { stdout: JSON.stringify(link), stderr: '', code: 0 });
    kernel.responses.set('addr show dev vxlan.margay', {
      stdout: JSON.stringify(addrs),
      stderr: '',
      code: 0,
    });
    kernel.responses.set('fdb show dev vxlan.margay', { stdout: JSON.stringify(fdb), stderr: '', code: 0 });
    kernel.responses.set('neigh show dev vxlan.margay', {
      stdout: JSON.stringify(neigh),
      stderr: '',
      code: 0,
    });
    const adopted = new VxlanManager({ ...options, netlink: new Netlink({ runner: kernel.run }) });
    adopted.setRemoteVteps(vteps);
    expect(await adopted.apply()).toEqual({
      deviceCreated: false,
      fdbWritten: 0,
      fdbDeleted: 0,
      neighWritten: 0,
      neighDeleted: 0,
    });
    expect(kernel.calls.filter((c) => !c.argv.includes('show'))).toEqual([]);

    // Drift: the IPv6 neighbour and the IPv6 address gone, a stray IPv6 address and neighbour added.
    addrs[0]!.addr_info[1] = { family: 'inet6', local: '2001:db8:244:99::', prefixlen: 128, scope: 'global' };
    neigh[2] = { dst: '2001:db8:244:77::', lladdr: mb, state: ['PERMANENT'] };
    kernel.responses.set('addr show dev vxlan.margay', {
      stdout: JSON.stringify(addrs),
      stderr: '',
      code: 0,
    });
    kernel.responses.set('neigh show dev vxlan.margay', {
      stdout: JSON.stringify(neigh),
      stderr: '',
      code: 0,
    });
    kernel.calls.length = 0;
    expect(await adopted.apply()).toMatchObject({ neighWritten: 0, neighDeleted: 0 }); // cached view
    expect(await adopted.resync()).toMatchObject({ neighWritten: 1, neighDeleted: 1, fdbWritten: 0 });
    expect(
      kernel.calls
        .filter((c) => !c.argv.includes('show'))
        .map((c) => `${c.argv.join(' ')}${c.input ? `\n${c.input}` : ''}`),
    ).toEqual([
      'ip -6 addr del 2001:db8:244:99::/128 dev vxlan.margay',
      'ip -6 addr replace 2001:db8:244:1::/128 dev vxlan.margay nodad',
      'ip -6 -force -batch -\n' +
        'neigh del 2001:db8:244:77:: dev vxlan.margay\n' +
        `neigh replace 2001:db8:244:3:: lladdr ${mb} dev vxlan.margay nud permanent\n`,
    ]);
    // Tunnel addresses of the wrong family are refused up front.
    expect(() => new VxlanManager({ ...options, tunnelAddressV6: '10.244.1.0' })).toThrow(/must be IPv6/);
    expect(() => m.setRemoteVteps([{ ...vteps[0]!, tunnelAddressV6: '10.244.3.0' }])).toThrow(/must be IPv6/);
  });

  it('IPIP: the commands from nothing, from a drifted device, and none when in place', () => {
    const want = { name: 'tunl0', mtu: 1480, tunnelAddress: '10.244.1.0' };
    expect(ipipCommands({ exists: false, addresses: [] }, want)).toEqual([
      ['link', 'add', 'name', 'tunl0', 'type', 'ipip'],
      ['link', 'set', 'tunl0', 'mtu', '1480', 'up'],
      ['addr', 'replace', '10.244.1.0/32', 'dev', 'tunl0'],
    ]);
    expect(
      ipipCommands({ exists: true, kind: 'ipip', mtu: 1500, up: false, addresses: ['10.244.9.0/32'] }, want),
    ).toEqual([
      ['link', 'set', 'tunl0', 'mtu', '1480', 'up'],
      ['addr', 'del', '10.244.9.0/32', 'dev', 'tunl0'],
      ['addr', 'replace', '10.244.1.0/32', 'dev', 'tunl0'],
    ]);
    expect(
      ipipCommands({ exists: true, kind: 'ipip', mtu: 1480, up: true, addresses: ['10.244.1.0/32'] }, want),
    ).toEqual([]);
  });

  it('IPIP: a kernel without ipip is FELIX_ERR_ENCAP_UNSUPPORTED', async () => {
    const f = new FakeRunner();
    f.responses.set('link show dev tunl0', { stdout: '', stderr: 'Device "tunl0" does not exist.', code: 1 });
    f.responses.set('type ipip', { stdout: '', stderr: 'Error: Unknown device type.', code: 2 });
    const m = new IpipManager({ netlink: new Netlink({ runner: f.run }), tunnelAddress: '10.244.1.0' });
    await expect(m.apply()).rejects.toMatchObject({ code: 'FELIX_ERR_ENCAP_UNSUPPORTED' });
  });
});

describe('host veth settings', () => {
  it('proxy ARP without delay, forwarding, strict rp_filter; IPv6 without RA or DAD', () => {
    expect(hostVethSysctls({ ifaceName: 'mgy0', ipv6: true })).toEqual([
      ['net/ipv4/conf/mgy0/proxy_arp', '1'],
      ['net/ipv4/neigh/mgy0/proxy_delay', '0'],
      ['net/ipv4/conf/mgy0/forwarding', '1'],
      ['net/ipv4/conf/mgy0/rp_filter', '1'],
      ['net/ipv6/conf/mgy0/accept_ra', '0'],
      ['net/ipv6/conf/mgy0/accept_dad', '0'],
      ['net/ipv6/conf/mgy0/forwarding', '1'],
    ]);
  });
});

describe('RouteTable.list() between passes', () => {
  it('hands out the same list until the desired routes, the kernel view or the refusals change', async () => {
    const f = new FakeRunner();
    const rt = new RouteTable({ netlink: new Netlink({ netns: 'n1', runner: f.run }) });
    const a = { dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }], reason: 'node b' };
    const b = { dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.3' }], reason: 'node c' };
    rt.setDesired([a]);
    const before = rt.list();
    expect(before.map((l) => l.state)).toEqual(['pending']);
    expect(rt.list()).toBe(before);
    await rt.apply();
    const applied = rt.list();
    expect(applied).not.toBe(before);
    expect(applied.map((l) => l.state)).toEqual(['programmed']);
    expect(rt.list()).toBe(applied);
    rt.setDesired([a, b]);
    expect(rt.list().map((l) => [l.route.dst, l.state])).toEqual([
      ['10.244.1.0/24', 'programmed'],
      ['10.244.2.0/24', 'pending'],
    ]);
    // The refusal makes the table read the kernel again, which has a but not b.
    f.routes[4] = [{ dst: '10.244.1.0/24', gateway: '192.0.2.2', dev: 'v0', protocol: '109' }];
    f.nextBatch = { stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:1\n', code: 1 };
    await rt.apply().catch(() => undefined);
    expect(rt.list().map((l) => [l.route.dst, l.state])).toEqual([
      ['10.244.1.0/24', 'programmed'],
      ['10.244.2.0/24', 'failed'],
    ]);
  });
});

/** What summary() must say: list() counted by state. */
function summaryOfList(rt: RouteTable) {
  const listed = rt.list();
  const desired = listed.filter((l) => l.state !== 'grace');
  const problems = desired.filter((l) => l.state === 'conflict' || l.state === 'failed');
  return {
    desired: desired.length,
    programmed: desired.filter((l) => l.state === 'programmed').length,
    conflicts: desired.filter((l) => l.state === 'conflict').length,
    failed: desired.filter((l) => l.state === 'failed').length,
    problems: problems.map((l) => [l.route.dst, l.state, l.message]),
    grace: listed.filter((l) => l.state === 'grace').map((l) => l.route.dst),
  };
}

function summaryOf(rt: RouteTable) {
  const s = rt.summary();
  return {
    ...s,
    problems: s.problems.map((l) => [l.route.dst, l.state, l.message]),
    grace: s.grace.map((l) => l.route.dst),
  };
}

describe('RouteTable.summary()', () => {
  it('counts what list() lists, through pending, programmed, conflict, refused and resync', async () => {
    const f = new FakeRunner();
    const rt = new RouteTable({ netlink: new Netlink({ netns: 'n1', runner: f.run }), families: [4] });
    const a = { dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }], reason: 'node b' };
    const b = { dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.3' }], reason: 'node c' };
    const c = { dst: '10.244.3.0/24', dev: 'v0', reason: 'device' };
    const check = (expected: Partial<ReturnType<typeof summaryOf>>) => {
      expect(summaryOf(rt)).toEqual(summaryOfList(rt));
      expect(summaryOf(rt)).toMatchObject(expected);
    };
    rt.setDesired([a]);
    check({ desired: 1, programmed: 0 });
    await rt.apply();
    check({ desired: 1, programmed: 1 });
    rt.setDesired([a, b, c]);
    check({ desired: 3, programmed: 1 });
    // c meets a foreign route ("File exists"): a conflict; the table re-reads the kernel.
    f.routes[4] = [
      { dst: '10.244.1.0/24', gateway: '192.0.2.2', dev: 'v0', protocol: '109' },
      { dst: '10.244.2.0/24', gateway: '192.0.2.3', dev: 'v0', protocol: '109' },
    ];
    f.nextBatch = { code: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' };
    await rt.apply();
    check({ desired: 3, programmed: 2, conflicts: 1, failed: 0 });
    // The next apply writes c again; the kernel takes it now.
    f.routes[4] = [];
    await rt.resync();
    check({ desired: 3, programmed: 3, conflicts: 0, problems: [] });
    // b refused: the re-read kernel has a and c but not b.
    rt.setDesired([a, { ...b, nextHops: [{ gateway: '192.0.2.4' }] }, c]);
    f.routes[4] = [
      { dst: '10.244.1.0/24', gateway: '192.0.2.2', dev: 'v0', protocol: '109' },
      { dst: '10.244.3.0/24', dev: 'v0', scope: 'link', protocol: '109' },
    ];
    f.nextBatch = { stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:1\n', code: 1 };
    await rt.apply().catch(() => undefined);
    check({ desired: 3, programmed: 2, failed: 1 });
    // A resync that has not run yet leaves the view unknown: nothing counts as programmed.
    f.routes[4] = [];
    const pass = rt.resync();
    check({ desired: 3, programmed: 0 });
    await pass;
    check({ desired: 3, programmed: 3, failed: 0 });
  });
});
