// The VXLAN manager (model: Felix dataplane/linux/vxlan_mgr.go; Flannel's vxlan backend).
//
// One device, `vxlan.margay` (VNI 4096, UDP 4789, `local` = this node's underlay address,
// `nolearning`, MTU = underlay MTU − 50), and for every remote node static entries so neither
// multicast nor learning is ever needed:
//   bridge fdb replace <remote VTEP MAC> dev vxlan.margay dst <remote node IP> self permanent
//   ip -4 neigh replace <remote tunnel addr> lladdr <remote VTEP MAC> dev vxlan.margay nud permanent
//   ip -6 neigh replace <remote IPv6 tunnel addr> lladdr <remote VTEP MAC> dev … nud permanent
// Routes to a remote pod CIDR (produced by `remoteRoutes` in src/calc or `remoteNodeRoute` in
// felix/model/routes.ts, written by the route reconciler) go `via <remote tunnel addr of that
// family> dev vxlan.margay onlink`.
//
// The underlay is IPv4 only; IPv6 pod traffic rides the same device (the inner frame is Ethernet,
// whatever it carries), so IPv6 needs no second device and no IPv6 underlay (Calico's vxlan-v6
// device needs one). What IPv6 adds is a second tunnel address on the device and a second
// neighbour entry per remote; the FDB entry (MAC → IPv4 underlay) is shared by both families.
//
// VTEP addressing (see vtepTunnelAddress in model/routes.ts): a node's tunnel addresses are the
// first addresses of its IPv4 pod CIDR (/32 on the device) and, when it has one, of its IPv6 pod
// CIDR (/128, `nodad`); its VTEP MAC is derived from its node name (vtepMac), so every node can
// compute every peer's VTEP from data it already has (node name, node IP, pod CIDRs).
//
// Declarative like the route table: `setRemoteVteps(list)`, `apply()` (cached view of the device,
// its addresses, FDB and neighbours of both families after the first read), `resync()` re-reads
// and repairs drift: a device with the wrong VNI/port/local/learning is recreated (those cannot be
// changed in place), a wrong MTU, MAC or a down link is fixed in place, a missing or foreign
// tunnel address (IPv4 or global IPv6; the kernel's own link-local fe80:: address is left alone)
// is fixed, missing FDB/neighbour entries are re-added, changed ones replaced, and stray permanent
// entries on our device removed. A restart adopts all of it without a write. Only `vxlan.margay`
// is touched.
import { FelixError } from '../../errors.ts';
import { canonicalAddress, parseAddress, VXLAN_DEVICE, vtepMac } from '../../model/routes.ts';
import type { RemoteVtep, VxlanDesired } from '../../model/tunnels.ts';
import { BatchError, type Netlink } from '../netlink/netlink.ts';

/** VXLAN over IPv4: 20 (IP) + 8 (UDP) + 8 (VXLAN) + 14 (inner Ethernet). */
export const VXLAN_OVERHEAD = 50;

/** The device's part of VxlanDesired (the remote VTEPs come with each apply), and how to reach it. */
export interface VxlanOptions extends Omit<VxlanDesired, 'remoteVteps'> {
  readonly netlink: Netlink;
  readonly deviceName?: string;
}

export interface VxlanDeviceSpec {
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  readonly local: string;
  readonly underlayDevice?: string;
  readonly mtu: number;
  readonly mac: string;
  readonly tunnelAddress: string;
  readonly tunnelAddressV6?: string;
}

interface LinkView {
  readonly exists: boolean;
  readonly vni?: number;
  readonly port?: number;
  readonly local?: string;
  readonly learning?: boolean;
  readonly link?: string;
  readonly mtu?: number;
  readonly mac?: string;
  readonly up?: boolean;
  readonly addresses: readonly string[];
}

interface View {
  link: LinkView;
  /** MAC → dst */
  fdb: Map<string, string>;
  /** tunnel addr (both families) → MAC */
  neigh: Map<string, string>;
}

export interface VxlanApplyResult {
  readonly deviceCreated: boolean;
  readonly fdbWritten: number;
  readonly fdbDeleted: number;
  readonly neighWritten: number;
  readonly neighDeleted: number;
}

type Json = Record<string, unknown>;

/** The `ip link add` argv for the device (pure; unit-tested). */
export function vxlanCreateArgs(d: VxlanDeviceSpec): string[] {
  const args = ['link', 'add', d.name, 'type', 'vxlan', 'id', String(d.vni), 'dstport', String(d.port)];
  args.push('local', d.local, 'nolearning');
  if (d.underlayDevice !== undefined) args.push('dev', d.underlayDevice);
  return args;
}

/**
 * Parse `ip -d -json link show dev X` + `ip -json addr show dev X` (pure; unit-tested). Addresses:
 * IPv4 ones and IPv6 ones that are not link-local (the kernel gives the device an fe80:: address
 * of its own; it is not ours to manage).
 */
export function parseVxlanLink(link: readonly unknown[], addrs: readonly unknown[]): LinkView {
  const l = link[0] as Json | undefined;
  if (l === undefined) return { exists: false, addresses: [] };
  const info = (l.linkinfo as Json | undefined)?.info_data as Json | undefined;
  const kind = (l.linkinfo as Json | undefined)?.info_kind;
  const flags = Array.isArray(l.flags) ? (l.flags as string[]) : [];
  const a = addrs[0] as Json | undefined;
  const addresses = Array.isArray(a?.addr_info)
    ? (a.addr_info as Json[])
        .filter((x) => x.family === 'inet' || (x.family === 'inet6' && x.scope !== 'link'))
        .map((x) => `${canonicalAddress(String(x.local))}/${String(x.prefixlen)}`)
    : [];
  return {
    exists: true,
    ...(kind === 'vxlan' && typeof info?.id === 'number' ? { vni: info.id } : {}),
    ...(typeof info?.port === 'number' ? { port: info.port } : {}),
    ...(typeof info?.local === 'string' ? { local: info.local } : {}),
    ...(typeof info?.learning === 'boolean' ? { learning: info.learning } : {}),
    ...(typeof info?.link === 'string' ? { link: info.link } : {}),
    ...(typeof l.mtu === 'number' ? { mtu: l.mtu } : {}),
    ...(typeof l.address === 'string' ? { mac: l.address } : {}),
    up: flags.includes('UP'),
    addresses,
  };
}

/** `bridge -json fdb show dev X`: our static unicast entries (MAC → dst). */
export function parseVxlanFdb(list: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of list as Json[]) {
    if (typeof e.mac !== 'string' || typeof e.dst !== 'string') continue;
    if (e.mac === '00:00:00:00:00:00') continue; // a flood entry: never written by us, left alone
    out.set(e.mac.toLowerCase(), e.dst);
  }
  return out;
}

/** `ip -json neigh show dev X` (both families): permanent entries (addr → MAC). */
export function parseVxlanNeigh(list: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of list as Json[]) {
    const state = Array.isArray(e.state) ? (e.state as string[]) : [];
    if (typeof e.dst !== 'string' || typeof e.lladdr !== 'string' || !state.includes('PERMANENT')) continue;
    out.set(canonicalAddress(e.dst), e.lladdr.toLowerCase());
  }
  return out;
}

interface Remote {
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly mac: string;
  readonly tunnelAddressV6?: string;
}

function addressOfFamily(text: string, family: 4 | 6, what: string): string {
  const a = canonicalAddress(text, what);
  if (parseAddress(a)?.family !== family) {
    throw new FelixError('FELIX_ERR_INVALID_ROUTE', `${what} must be IPv${family}, got ${a}`);
  }
  return a;
}

/** `ip -4|-6` for an address (or "addr/len") in canonical text. */
function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

export class VxlanManager {
  readonly device: VxlanDeviceSpec;
  readonly #nl: Netlink;
  /** By IPv4 tunnel address. */
  #remotes = new Map<string, Remote>();
  #view: View | undefined;

  constructor(o: VxlanOptions) {
    this.#nl = o.netlink;
    const local = addressOfFamily(o.underlayAddress, 4, 'VXLAN underlay address');
    const mtu = (o.underlayMtu ?? 1500) - VXLAN_OVERHEAD;
    this.device = {
      name: o.deviceName ?? VXLAN_DEVICE,
      vni: o.vni ?? 4096,
      port: o.port ?? 4789,
      local,
      ...(o.underlayDevice !== undefined ? { underlayDevice: o.underlayDevice } : {}),
      mtu,
      mac: vtepMac(o.nodeName),
      tunnelAddress: addressOfFamily(o.tunnelAddress, 4, 'tunnel address'),
      ...(o.tunnelAddressV6 !== undefined
        ? { tunnelAddressV6: addressOfFamily(o.tunnelAddressV6, 6, 'IPv6 tunnel address') }
        : {}),
    };
  }

  /** The whole set of remote VTEPs (every other node using VXLAN). */
  setRemoteVteps(vteps: readonly RemoteVtep[]): void {
    const next = new Map<string, Remote>();
    const v6 = new Set<string>();
    for (const v of vteps) {
      const tunnel = addressOfFamily(v.tunnelAddress, 4, `tunnel address of ${v.nodeName}`);
      const nodeIp = addressOfFamily(v.nodeIp, 4, `node IP of ${v.nodeName}`);
      const mac = (v.mac ?? vtepMac(v.nodeName)).toLowerCase();
      if (next.has(tunnel)) {
        throw new FelixError('FELIX_ERR_INVALID_ROUTE', `two VTEPs with tunnel address ${tunnel}`);
      }
      let tunnelAddressV6: string | undefined;
      if (v.tunnelAddressV6 !== undefined) {
        tunnelAddressV6 = addressOfFamily(v.tunnelAddressV6, 6, `IPv6 tunnel address of ${v.nodeName}`);
        if (v6.has(tunnelAddressV6)) {
          throw new FelixError('FELIX_ERR_INVALID_ROUTE', `two VTEPs with tunnel address ${tunnelAddressV6}`);
        }
        v6.add(tunnelAddressV6);
      }
      next.set(tunnel, {
        nodeIp,
        mac,
        nodeName: v.nodeName,
        ...(tunnelAddressV6 !== undefined ? { tunnelAddressV6 } : {}),
      });
    }
    this.#remotes = next;
  }

  /** Remote VTEPs as desired, for the REST API. */
  list(): {
    nodeName: string;
    nodeIp: string;
    tunnelAddress: string;
    tunnelAddressV6?: string;
    mac: string;
  }[] {
    return [...this.#remotes].map(([tunnelAddress, r]) => ({ ...r, tunnelAddress }));
  }

  /** Desired neighbours: every remote tunnel address of both families → that remote's MAC. */
  #wantedNeighbours(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [tunnel, r] of this.#remotes) {
      out.set(tunnel, r.mac);
      if (r.tunnelAddressV6 !== undefined) out.set(r.tunnelAddressV6, r.mac);
    }
    return out;
  }

  async resync(): Promise<VxlanApplyResult> {
    this.#view = undefined;
    return this.apply();
  }

  async apply(): Promise<VxlanApplyResult> {
    const d = this.device;
    let view = this.#view ?? (await this.#read());
    this.#view = undefined; // trusted again only when everything below succeeded
    let deviceCreated = false;
    const l = view.link;
    const wrongKind =
      l.exists &&
      (l.vni !== d.vni ||
        l.port !== d.port ||
        l.local !== d.local ||
        l.learning !== false ||
        (d.underlayDevice !== undefined && l.link !== d.underlayDevice));
    if (wrongKind) await this.#nl.exec('ip', ['link', 'del', d.name]);
    if (!l.exists || wrongKind) {
      const r = await this.#nl.tryExec('ip', vxlanCreateArgs(d));
      if (r.code !== 0) {
        const unsupported = /Unknown device type|not supported/i.test(r.stderr);
        throw new FelixError(
          unsupported ? 'FELIX_ERR_ENCAP_UNSUPPORTED' : 'FELIX_ERR_COMMAND_FAILED',
          `creating ${d.name}: ${r.stderr.trim()}`,
          { cause: r },
        );
      }
      deviceCreated = true;
      view = { link: { exists: true, addresses: [] }, fdb: new Map(), neigh: new Map() };
    }
    const cur = view.link;
    const set: string[] = [];
    if (cur.mtu !== d.mtu) set.push('mtu', String(d.mtu));
    if (cur.mac !== d.mac) set.push('address', d.mac);
    if (cur.up !== true) set.push('up');
    if (set.length > 0) await this.#nl.exec('ip', ['link', 'set', d.name, ...set]);
    const wantAddresses = [`${d.tunnelAddress}/32`];
    if (d.tunnelAddressV6 !== undefined) wantAddresses.push(`${d.tunnelAddressV6}/128`);
    for (const a of cur.addresses) {
      if (!wantAddresses.includes(a))
        await this.#nl.exec('ip', ['addr', 'del', a, 'dev', d.name], familyOf(a));
    }
    for (const a of wantAddresses) {
      if (cur.addresses.includes(a)) continue;
      // nodad: every host on this link is a static neighbour, so there is nothing to detect, and
      // a tentative address would refuse to be a source for a second.
      const extra = familyOf(a) === 6 ? ['nodad'] : [];
      await this.#nl.exec('ip', ['addr', 'replace', a, 'dev', d.name, ...extra], familyOf(a));
    }

    // FDB: MAC → remote node IP.
    const fdbLines: string[] = [];
    const wantFdb = new Map([...this.#remotes.values()].map((r) => [r.mac, r.nodeIp]));
    for (const [mac, dst] of view.fdb) {
      if (wantFdb.get(mac) !== dst) fdbLines.push(`fdb del ${mac} dev ${d.name} dst ${dst} self`);
    }
    const fdbDeleted = fdbLines.length;
    for (const [mac, dst] of wantFdb) {
      if (view.fdb.get(mac) !== dst)
        fdbLines.push(`fdb replace ${mac} dev ${d.name} dst ${dst} self permanent`);
    }
    // Neighbours: tunnel address (both families) → MAC, one batch per family.
    const wantNeigh = this.#wantedNeighbours();
    const neighLines: Record<4 | 6, string[]> = { 4: [], 6: [] };
    let neighDeleted = 0;
    for (const [addr, mac] of view.neigh) {
      if (wantNeigh.get(addr) !== mac) {
        neighLines[familyOf(addr)].push(`neigh del ${addr} dev ${d.name}`);
        neighDeleted++;
      }
    }
    for (const [addr, mac] of wantNeigh) {
      if (view.neigh.get(addr) !== mac) {
        neighLines[familyOf(addr)].push(`neigh replace ${addr} lladdr ${mac} dev ${d.name} nud permanent`);
      }
    }
    const [fdbRes, neigh4Res, neigh6Res] = await Promise.all([
      this.#nl.batch('bridge', fdbLines),
      this.#nl.batch('ip', neighLines[4], 4),
      this.#nl.batch('ip', neighLines[6], 6),
    ]);
    const failures = [...fdbRes.failures, ...neigh4Res.failures, ...neigh6Res.failures].filter(
      (f) => !/No such file|No such process/.test(f.message) || !/ del /.test(f.command),
    );
    if (failures.length > 0) throw new BatchError(`${d.name} FDB/neighbours`, failures);
    this.#view = {
      link: {
        exists: true,
        vni: d.vni,
        port: d.port,
        local: d.local,
        learning: false,
        mtu: d.mtu,
        mac: d.mac,
        up: true,
        addresses: wantAddresses,
        ...(d.underlayDevice !== undefined ? { link: d.underlayDevice } : {}),
      },
      fdb: wantFdb,
      neigh: wantNeigh,
    };
    const neighWritten = neighLines[4].length + neighLines[6].length - neighDeleted;
    return {
      deviceCreated,
      fdbWritten: fdbLines.length - fdbDeleted,
      fdbDeleted,
      neighWritten,
      neighDeleted,
    };
  }

  async #read(): Promise<View> {
    const name = this.device.name;
    const link = await this.#nl.tryExec('ip', ['-d', '-json', 'link', 'show', 'dev', name]);
    if (link.code !== 0) {
      if (/does not exist/.test(link.stderr))
        return { link: { exists: false, addresses: [] }, fdb: new Map(), neigh: new Map() };
      throw new FelixError('FELIX_ERR_COMMAND_FAILED', `ip link show ${name}: ${link.stderr.trim()}`);
    }
    // Both families in one read each: entries of a family no longer wanted are found too.
    const [addrs, fdb, neigh] = await Promise.all([
      this.#nl.read('ip', ['addr', 'show', 'dev', name]),
      this.#nl.read('bridge', ['fdb', 'show', 'dev', name]),
      this.#nl.read('ip', ['neigh', 'show', 'dev', name]),
    ]);
    const linkList = JSON.parse(link.stdout || '[]') as unknown[];
    return { link: parseVxlanLink(linkList, addrs), fdb: parseVxlanFdb(fdb), neigh: parseVxlanNeigh(neigh) };
  }
}
