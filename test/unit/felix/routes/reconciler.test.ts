// RouteTable, VxlanManager and IpipManager against a fake command runner (STYLE rule 10: fakes
// with failure injection, like Felix's mocknetlink). The real kernel is in
// test/interop/felix-routes*.test.ts; here: the exact commands, -force failure handling, and that a
// failure makes the next apply re-read.
import { describe, expect, it } from 'vitest';
import { IpipManager, ipipCommands } from '../../../../felix/dataplane/encap/ipip.ts';
import { VxlanManager, vxlanCreateArgs } from '../../../../felix/dataplane/encap/vxlan.ts';
import type { Command, CommandResult } from '../../../../felix/dataplane/exec.ts';
import { Netlink, parseBatchErrors } from '../../../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../../../felix/dataplane/routes/route-table.ts';
import { hostVethSysctls } from '../../../../felix/dataplane/workload/veth.ts';
import { vtepMac } from '../../../../felix/model/routes.ts';

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
    expect(f.batches()).toEqual([
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

  it('a failed line is a BatchError naming it; tolerated ESRCH on delete; next apply re-reads', async () => {
    const f = new FakeRunner();
    f.routes[4] = [{ dst: '10.244.9.0/24', dev: 'v0', scope: 'link', protocol: '109' }];
    const rt = new RouteTable({ netlink: new Netlink({ runner: f.run }), families: [4] });
    rt.setDesired([
      { dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }] },
      { dst: '10.244.2.0/24', nextHops: [{ gateway: '203.0.113.1' }] },
    ]);
    f.nextBatch = {
      code: 1,
      stderr:
        'Error: Nexthop has invalid gateway.\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:3\n',
    };
    const err = await rt.apply().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'FELIX_ERR_BATCH_FAILED',
      failures: [{ line: 2, command: 'route add 10.244.2.0/24 proto 109 via 203.0.113.1' }],
    });
    expect(String((err as Error).message)).toContain('line 2: route add 10.244.2.0/24');
    f.calls.length = 0;
    f.routes[4] = [{ dst: '10.244.1.0/24', gateway: '192.0.2.2', dev: 'v0', protocol: '109' }];
    expect(await rt.apply()).toMatchObject({ didRead: true, added: 1, unchanged: 1 });
  });

  it('a foreign route at a desired key is a conflict, not overwritten', async () => {
    const f = new FakeRunner();
    const rt = new RouteTable({ netlink: new Netlink({ runner: f.run }), families: [4] });
    rt.setDesired([{ dst: '10.244.1.0/24', dev: 'v0' }]);
    f.nextBatch = { code: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' };
    const r = await rt.apply();
    expect(r.conflicts).toEqual([
      {
        key: '4|254|10.244.1.0/24',
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
