// The VXLAN manager (model: Felix dataplane/linux/vxlan_mgr.go; Flannel's vxlan backend).
//
// One device, `vxlan.margay` (VNI 4096, UDP 4789, `local` = this node's underlay address,
// `nolearning`, MTU = underlay MTU − 50), and for every remote node two static entries so neither
// multicast nor learning is ever needed:
//   bridge fdb replace <remote VTEP MAC> dev vxlan.margay dst <remote node IP> self permanent
//   ip neigh replace <remote tunnel addr> lladdr <remote VTEP MAC> dev vxlan.margay nud permanent
// Routes to a remote pod CIDR (produced by `remoteNodeRoute` in felix/model/routes.ts and written
// by the route reconciler) go `via <remote tunnel addr> dev vxlan.margay onlink`.
//
// VTEP addressing (see model/routes.ts): a node's tunnel address is the .0 of its IPv4 pod CIDR
// (/32 on the device), its VTEP MAC is derived from its node name (vtepMac), so every node can
// compute every peer's VTEP from data it already has (node name, node IP, pod CIDR).
//
// Declarative like the route table: `setRemoteVteps(list)`, `apply()` (cached view of the device,
// FDB and neighbours after the first read), `resync()` re-reads and repairs drift: a device with
// the wrong VNI/port/local/learning is recreated (those cannot be changed in place), a wrong MTU,
// MAC or a down link is fixed in place, missing FDB/neighbour entries are re-added, changed ones
// replaced, and stray permanent entries on our device removed. Only `vxlan.margay` is touched.
import { FelixError } from '../../errors.ts';
import { canonicalAddress, parseAddress, VXLAN_DEVICE, vtepMac } from '../../model/routes.ts';
import { BatchError, type Netlink } from '../netlink/netlink.ts';

/** VXLAN over IPv4: 20 (IP) + 8 (UDP) + 8 (VXLAN) + 14 (inner Ethernet). */
export const VXLAN_OVERHEAD = 50;

export interface RemoteVtep {
  readonly nodeName: string;
  /** Underlay address of the remote node (FDB `dst`). */
  readonly nodeIp: string;
  /** Its tunnel address (`vtepTunnelAddress(its pod CIDR)`). */
  readonly tunnelAddress: string;
  /** Default vtepMac(nodeName). */
  readonly mac?: string;
}

export interface VxlanOptions {
  readonly netlink: Netlink;
  readonly nodeName: string;
  /** This node's underlay IPv4 address (`local`). */
  readonly underlayAddress: string;
  /** Underlay device (`dev`), optional: the kernel then picks by route. */
  readonly underlayDevice?: string;
  /** Default 1500. */
  readonly underlayMtu?: number;
  /** This node's tunnel address (vtepTunnelAddress(pod CIDR)). */
  readonly tunnelAddress: string;
  readonly vni?: number;
  readonly port?: number;
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
  /** tunnel addr → MAC */
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

/** Parse `ip -d -json link show dev X` + `ip -json addr show dev X` (pure; unit-tested). */
export function parseVxlanLink(link: readonly unknown[], addrs: readonly unknown[]): LinkView {
  const l = link[0] as Json | undefined;
  if (l === undefined) return { exists: false, addresses: [] };
  const info = (l.linkinfo as Json | undefined)?.info_data as Json | undefined;
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

/** `ip -json neigh show dev X`: permanent entries (addr → MAC). */
export function parseVxlanNeigh(list: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of list as Json[]) {
    const state = Array.isArray(e.state) ? (e.state as string[]) : [];
    if (typeof e.dst !== 'string' || typeof e.lladdr !== 'string' || !state.includes('PERMANENT')) continue;
    out.set(canonicalAddress(e.dst), e.lladdr.toLowerCase());
  }
  return out;
}

export class VxlanManager {
  readonly device: VxlanDeviceSpec;
  readonly #nl: Netlink;
  #remotes = new Map<string, { nodeIp: string; mac: string; nodeName: string }>();
  #view: View | undefined;

  constructor(o: VxlanOptions) {
    this.#nl = o.netlink;
    const local = canonicalAddress(o.underlayAddress, 'underlay address');
    if (parseAddress(local)?.family !== 4) {
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', `VXLAN underlay must be IPv4, got ${local}`);
    }
    const mtu = (o.underlayMtu ?? 1500) - VXLAN_OVERHEAD;
    this.device = {
      name: o.deviceName ?? VXLAN_DEVICE,
      vni: o.vni ?? 4096,
      port: o.port ?? 4789,
      local,
      ...(o.underlayDevice !== undefined ? { underlayDevice: o.underlayDevice } : {}),
      mtu,
      mac: vtepMac(o.nodeName),
      tunnelAddress: canonicalAddress(o.tunnelAddress, 'tunnel address'),
    };
  }

  /** The whole set of remote VTEPs (every other node using VXLAN). */
  setRemoteVteps(vteps: readonly RemoteVtep[]): void {
    const next = new Map<string, { nodeIp: string; mac: string; nodeName: string }>();
    for (const v of vteps) {
      const tunnel = canonicalAddress(v.tunnelAddress, `tunnel address of ${v.nodeName}`);
      const nodeIp = canonicalAddress(v.nodeIp, `node IP of ${v.nodeName}`);
      const mac = (v.mac ?? vtepMac(v.nodeName)).toLowerCase();
      if (next.has(tunnel)) {
        throw new FelixError('FELIX_ERR_INVALID_ROUTE', `two VTEPs with tunnel address ${tunnel}`);
      }
      next.set(tunnel, { nodeIp, mac, nodeName: v.nodeName });
    }
    this.#remotes = next;
  }

  /** Remote VTEPs as desired, for the REST API. */
  list(): { nodeName: string; nodeIp: string; tunnelAddress: string; mac: string }[] {
    return [...this.#remotes].map(([tunnelAddress, r]) => ({ ...r, tunnelAddress }));
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
    const want = `${d.tunnelAddress}/32`;
    for (const a of cur.addresses) {
      if (a !== want) await this.#nl.exec('ip', ['addr', 'del', a, 'dev', d.name], 4);
    }
    if (!cur.addresses.includes(want)) await this.#nl.exec('ip', ['addr', 'replace', want, 'dev', d.name], 4);

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
    // Neighbours: tunnel address → MAC.
    const neighLines: string[] = [];
    for (const [addr, mac] of view.neigh) {
      if (this.#remotes.get(addr)?.mac !== mac) neighLines.push(`neigh del ${addr} dev ${d.name}`);
    }
    const neighDeleted = neighLines.length;
    for (const [addr, r] of this.#remotes) {
      if (view.neigh.get(addr) !== r.mac) {
        neighLines.push(`neigh replace ${addr} lladdr ${r.mac} dev ${d.name} nud permanent`);
      }
    }
    const [fdbRes, neighRes] = await Promise.all([
      this.#nl.batch('bridge', fdbLines),
      this.#nl.batch('ip', neighLines, 4),
    ]);
    const failures = [...fdbRes.failures, ...neighRes.failures].filter(
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
        addresses: [want],
        ...(d.underlayDevice !== undefined ? { link: d.underlayDevice } : {}),
      },
      fdb: wantFdb,
      neigh: new Map([...this.#remotes].map(([a, r]) => [a, r.mac])),
    };
    return {
      deviceCreated,
      fdbWritten: fdbLines.length - fdbDeleted,
      fdbDeleted,
      neighWritten: neighLines.length - neighDeleted,
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
    const [addrs, fdb, neigh] = await Promise.all([
      this.#nl.read('ip', ['addr', 'show', 'dev', name], 4),
      this.#nl.read('bridge', ['fdb', 'show', 'dev', name]),
      this.#nl.read('ip', ['neigh', 'show', 'dev', name], 4),
    ]);
    const linkList = JSON.parse(link.stdout || '[]') as unknown[];
    return { link: parseVxlanLink(linkList, addrs), fdb: parseVxlanFdb(fdb), neigh: parseVxlanNeigh(neigh) };
  }
}
