// The IPIP manager: the same shape as the VXLAN manager, for IPPools with `ipipMode`.
//
// IPIP needs no per-node state besides routes: `tunl0` (the kernel's fallback ipip device, created
// with `ip link add name tunl0 type ipip` when the module did not create it) with MTU = underlay −
// 20 and this node's tunnel address as a /32 (Calico gives tunl0 an address from the pool; we use
// the .0 of the node's pod CIDR, as for VXLAN), up. Routes to remote pod CIDRs go
// `via <remote node IP> dev tunl0 onlink` (remoteNodeRoute in felix/model/routes.ts); the kernel
// encapsulates towards the route's gateway.
//
// This machine's kernel has no ipip: creating the device fails with "Unknown device type", which
// is reported as FELIX_ERR_ENCAP_UNSUPPORTED (the agent then reports the pool as unprogrammable
// instead of pretending). `resync()` re-reads and fixes MTU, up state and addresses.
import { FelixError } from '../../errors.ts';
import { canonicalAddress, IPIP_DEVICE } from '../../model/routes.ts';
import type { Netlink } from '../netlink/netlink.ts';

/** Outer IPv4 header. */
export const IPIP_OVERHEAD = 20;

export interface IpipOptions {
  readonly netlink: Netlink;
  readonly tunnelAddress: string;
  readonly underlayMtu?: number;
  readonly deviceName?: string;
}

interface IpipView {
  readonly exists: boolean;
  readonly kind?: string;
  readonly mtu?: number;
  readonly up?: boolean;
  readonly addresses: readonly string[];
}

type Json = Record<string, unknown>;

/** Parse `ip -d -json link show dev tunl0` + `ip -json addr show dev tunl0` (pure). */
export function parseIpipLink(link: readonly unknown[], addrs: readonly unknown[]): IpipView {
  const l = link[0] as Json | undefined;
  if (l === undefined) return { exists: false, addresses: [] };
  const kind = (l.linkinfo as Json | undefined)?.info_kind;
  const flags = Array.isArray(l.flags) ? (l.flags as string[]) : [];
  const a = addrs[0] as Json | undefined;
  const addresses = Array.isArray(a?.addr_info)
    ? (a.addr_info as Json[])
        .filter((x) => x.family === 'inet')
        .map((x) => `${String(x.local)}/${String(x.prefixlen)}`)
    : [];
  return {
    exists: true,
    ...(typeof kind === 'string' ? { kind } : {}),
    ...(typeof l.mtu === 'number' ? { mtu: l.mtu } : {}),
    up: flags.includes('UP'),
    addresses,
  };
}

/** The commands that bring `view` to the desired device (pure; unit-tested). */
export function ipipCommands(
  view: IpipView,
  want: { name: string; mtu: number; tunnelAddress: string },
): string[][] {
  const cmds: string[][] = [];
  const fresh = !view.exists || view.kind !== 'ipip';
  if (view.exists && view.kind !== 'ipip') cmds.push(['link', 'del', want.name]);
  if (fresh) cmds.push(['link', 'add', 'name', want.name, 'type', 'ipip']);
  const set: string[] = [];
  if (fresh || view.mtu !== want.mtu) set.push('mtu', String(want.mtu));
  if (fresh || view.up !== true) set.push('up');
  if (set.length > 0) cmds.push(['link', 'set', want.name, ...set]);
  const addr = `${want.tunnelAddress}/32`;
  const have = fresh ? [] : view.addresses;
  for (const a of have) if (a !== addr) cmds.push(['addr', 'del', a, 'dev', want.name]);
  if (!have.includes(addr)) cmds.push(['addr', 'replace', addr, 'dev', want.name]);
  return cmds;
}

export class IpipManager {
  readonly name: string;
  readonly mtu: number;
  readonly tunnelAddress: string;
  readonly #nl: Netlink;
  #view: IpipView | undefined;

  constructor(o: IpipOptions) {
    this.#nl = o.netlink;
    this.name = o.deviceName ?? IPIP_DEVICE;
    this.mtu = (o.underlayMtu ?? 1500) - IPIP_OVERHEAD;
    this.tunnelAddress = canonicalAddress(o.tunnelAddress, 'tunnel address');
  }

  async resync(): Promise<{ commands: number }> {
    this.#view = undefined;
    return this.apply();
  }

  async apply(): Promise<{ commands: number }> {
    const view = this.#view ?? (await this.#read());
    this.#view = undefined;
    const cmds = ipipCommands(view, { name: this.name, mtu: this.mtu, tunnelAddress: this.tunnelAddress });
    for (const c of cmds) {
      const r = await this.#nl.tryExec('ip', c);
      if (r.code === 0) continue;
      if (c[1] === 'add' && /Unknown device type|not supported|Operation not supported/i.test(r.stderr)) {
        throw new FelixError(
          'FELIX_ERR_ENCAP_UNSUPPORTED',
          `this kernel has no ipip link type (ip ${c.join(' ')}: ${r.stderr.trim()})`,
          { cause: r },
        );
      }
      throw new FelixError('FELIX_ERR_COMMAND_FAILED', `ip ${c.join(' ')}: ${r.stderr.trim()}`, { cause: r });
    }
    this.#view = {
      exists: true,
      kind: 'ipip',
      mtu: this.mtu,
      up: true,
      addresses: [`${this.tunnelAddress}/32`],
    };
    return { commands: cmds.length };
  }

  async #read(): Promise<IpipView> {
    const link = await this.#nl.tryExec('ip', ['-d', '-json', 'link', 'show', 'dev', this.name]);
    if (link.code !== 0) {
      if (/does not exist/.test(link.stderr)) return { exists: false, addresses: [] };
      throw new FelixError('FELIX_ERR_COMMAND_FAILED', `ip link show ${this.name}: ${link.stderr.trim()}`);
    }
    const addrs = await this.#nl.read('ip', ['addr', 'show', 'dev', this.name], 4);
    return parseIpipLink(JSON.parse(link.stdout || '[]') as unknown[], addrs);
  }
}
