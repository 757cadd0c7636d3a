// The links step of a Dataplane that programs the namespace its own process runs in (the agent on a
// node: no `netns` option), in a network namespace this test creates: felix-links-child.ts runs
// there under `ip netns exec`, so its Netlink reads and writes the workload interfaces through
// its own /proc (netlink/procfs.ts) instead of `ip` and `sysctl` processes. What it reads is
// compared with what those commands print in the same namespace, and what it writes is checked
// with them:
//   - the interfaces found and their IPv6 addresses, and the sysctl values, equal `ip -json addr
//     show` and `sysctl -n` (a Netlink given the namespace, from this process); a key that does
//     not exist is an error;
//   - a first pass sets the host-veth sysctls of every present endpoint and the IPv6 gateway of
//     the dual-stack one, reports the endpoint without an interface as missing, and runs one
//     process only (`ip addr replace` of the gateway);
//   - a second instance (a restarted agent) finds everything in place and writes nothing; after a
//     value is changed by hand, it writes that one value back.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../felix/dataplane/exec.ts';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { hostVethSysctls } from '../../felix/dataplane/workload/veth.ts';
import type { EndpointInput } from '../../felix/model/endpoints.ts';
import { workloadIfaceName } from '../../felix/model/endpoints.ts';
import { Lab } from './lib/index.ts';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot;
const CHILD = join(import.meta.dirname, 'felix-links-child.ts');

const V4: EndpointInput = { namespace: 'prod', name: 'web', ipv4: ['10.244.1.10'] };
const DUAL: EndpointInput = { namespace: 'prod', name: 'db', ipv4: ['10.244.1.11'], ipv6: ['fd00::11'] };
const ABSENT: EndpointInput = { namespace: 'prod', name: 'gone', ipv4: ['10.244.1.12'] };
const IF_V4 = workloadIfaceName(V4.namespace, V4.name);
const IF_DUAL = workloadIfaceName(DUAL.namespace, DUAL.name);
const IF_ABSENT = workloadIfaceName(ABSENT.namespace, ABSENT.name);
const KEYS = [
  ...hostVethSysctls({ ifaceName: IF_V4, ipv4: true }),
  ...hostVethSysctls({ ifaceName: IF_DUAL, ipv4: true, ipv6: true }),
].map(([k]) => k);

interface ChildReport {
  readonly local: boolean;
  readonly interfaces: Record<string, string[]>;
  readonly sysctls: string[];
  readonly absentKeyError: string | undefined;
  readonly readCommands: number;
  readonly missing: string[];
  readonly written: number;
  readonly applyCommands: number;
}

const lab = new Lab();
let ns = '';
let nl: Netlink;

async function child(): Promise<ChildReport> {
  const spec = {
    endpoints: [V4, DUAL, ABSENT],
    names: [IF_V4, IF_DUAL, IF_ABSENT, 'lo'],
    keys: KEYS,
    absentKey: `net/ipv4/conf/${IF_ABSENT}/proxy_arp`,
  };
  const r = await run({
    argv: [process.execPath, CHILD, JSON.stringify(spec)],
    netns: ns,
    timeoutMs: 30_000,
  });
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildReport;
}

/** The same reads through `ip` and `sysctl` processes in the namespace. */
async function commandReads(): Promise<{ interfaces: Record<string, string[]>; sysctls: string[] }> {
  const found = await nl.interfaces([IF_V4, IF_DUAL, IF_ABSENT, 'lo'], { ipv6Addresses: true });
  return { interfaces: Object.fromEntries(found), sysctls: await nl.readSysctls(KEYS) };
}

const sorted = (r: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [...v].sort()]));

beforeAll(async () => {
  if (skip) return;
  ns = await lab.addNamespace('links');
  nl = new Netlink({ netns: ns });
  await nl.exec('ip', ['link', 'set', 'lo', 'up']);
  for (const [iface, peer] of [
    [IF_V4, 'p0'],
    [IF_DUAL, 'p1'],
  ] as const) {
    await nl.exec('ip', ['link', 'add', iface, 'type', 'veth', 'peer', 'name', peer]);
    await nl.exec('ip', ['link', 'set', iface, 'up']);
    await nl.exec('ip', ['link', 'set', peer, 'up']);
  }
  // The kernel's defaults differ from what a host veth needs, so the first pass has work.
  await nl.sysctl([
    [`net/ipv4/conf/${IF_V4}/proxy_arp`, '0'],
    [`net/ipv4/conf/${IF_DUAL}/proxy_arp`, '0'],
    [`net/ipv6/conf/${IF_DUAL}/accept_ra`, '1'],
  ]);
}, 30_000);

afterAll(async () => {
  await lab.teardown();
});

describe.skipIf(skip)('links step in its own namespace, through /proc', () => {
  it('reads what ip and sysctl read, sets what a host veth needs, and runs one process', async () => {
    const before = await commandReads();
    const first = await child();
    expect(first.local).toBe(true);
    expect(first.readCommands).toBe(0);
    expect(sorted(first.interfaces)).toEqual(sorted(before.interfaces));
    expect(Object.keys(first.interfaces).sort()).toEqual([IF_DUAL, IF_V4, 'lo'].sort());
    expect(first.interfaces[IF_DUAL]!.some((a) => a.startsWith('fe80:'))).toBe(true);
    expect(first.interfaces.lo).toContain('::1/128');
    expect(first.sysctls).toEqual(before.sysctls);
    expect(first.absentKeyError).toBe('FELIX_ERR_COMMAND_FAILED');

    expect(first.missing).toEqual([`${ABSENT.namespace}/${ABSENT.name}`]);
    const wanted = [
      ...hostVethSysctls({ ifaceName: IF_V4, ipv4: true }),
      ...hostVethSysctls({ ifaceName: IF_DUAL, ipv4: true, ipv6: true }),
    ].map(([, v]) => v);
    // Every value that differed (proxy_arp at least, cleared above), and the dual-stack veth's
    // gateway address, which it lacked.
    const differed = wanted.filter((v, i) => before.sysctls[i] !== v).length;
    expect(differed).toBeGreaterThanOrEqual(3);
    expect(first.written).toBe(differed + 1);
    expect(first.applyCommands).toBe(1);
    const after = await commandReads();
    expect(after.sysctls).toEqual(wanted);
    expect(after.interfaces[IF_DUAL]).toContain('fe80::1/64');
    expect(after.interfaces[IF_V4]).not.toContain('fe80::1/64');
  });

  it('a second instance writes nothing, then repairs one value changed by hand', async () => {
    const again = await child();
    expect(again.missing).toEqual([`${ABSENT.namespace}/${ABSENT.name}`]);
    expect(again.written).toBe(0);
    expect(again.applyCommands).toBe(0);
    await nl.sysctl([[`net/ipv4/conf/${IF_DUAL}/rp_filter`, '0']]);
    const repaired = await child();
    expect(repaired.written).toBe(1);
    expect(repaired.applyCommands).toBe(0);
    expect(await nl.readSysctls([`net/ipv4/conf/${IF_DUAL}/rp_filter`])).toEqual(['1']);
  });
});
