// The "links" step of a dataplane apply (between iptables and routes, because routes name these
// devices): the tunnel devices with their static FDB/neighbour entries, and the host side of every
// local workload's veth. Owned by the Dataplane (dataplane.ts); one instance per node.
//
// - VXLAN: `undefined` = not managed (never touched); `null` = this node uses no VXLAN, so our
//   device (`vxlan.margay`) is deleted when it exists (its FDB, neighbours and the routes through
//   it go with it); a value = the device (IPv4 underlay, IPv4 and optionally IPv6 tunnel address)
//   and the remote VTEPs (VxlanManager). A change of the device's own parameters (VNI, port, local
//   address, MTU, tunnel addresses) gets a new manager, whose first apply
//   reads the kernel and fixes or recreates the device; a change of the VTEP list keeps the
//   manager and its cached view.
// - IPIP: `undefined` and `null` both mean not managed: `tunl0` is the kernel's fallback device of
//   the ipip module, shared with anything else using ipip, and Margay never deletes it.
// - Workload veths (routed, with a link-local gateway answered by proxy ARP): the sysctls of
//   `hostVethSysctls` and, for IPv6 endpoints, the fe80::1 gateway address. The veth itself is
//   created by the CNI plugin, so an endpoint whose interface does not exist is skipped (and
//   reported as not wired: `missingEndpoints`) and looked at again on every apply until it
//   appears; the Dataplane holds back its routes meanwhile and watches for the interface. Settings are read
//   before they are written, so adoption after a restart and a drift-free resync write nothing.
//   Only the endpoints not configured yet are looked at (a pod added reads its own interface, not
//   every link of the node). In the namespace the process runs in, Netlink reads and writes these
//   through /proc (netlink/procfs.ts), with no child process; in another namespace through `ip`
//   and `sysctl` run there.
//
// Like the other reconcilers it caches what it knows: a normal apply only looks at endpoints it
// has not configured yet; `requestResync()` (the periodic resync, or after a failure) re-reads all.
import { FelixError } from '../errors.ts';
import type { WorkloadEndpoint } from '../model/endpoints.ts';
import { POD_GATEWAY_V6, VXLAN_DEVICE } from '../model/routes.ts';
import type { IpipDesired, RemoteVtep, VxlanDesired } from '../model/tunnels.ts';
import { IpipManager } from './encap/ipip.ts';
import { VxlanManager } from './encap/vxlan.ts';
import type { Netlink } from './netlink/netlink.ts';
import { hostVethSysctls } from './workload/veth.ts';

/** A validated links state (see LinksReconciler.compile). */
export interface CompiledLinks {
  readonly endpoints: ReadonlyMap<string, WorkloadEndpoint>;
  readonly vxlan:
    | {
        readonly key: string;
        readonly manager: VxlanManager;
        readonly vteps: readonly RemoteVtep[];
        /** What it was compiled from (the same object again needs no compile). */
        readonly from: VxlanDesired;
      }
    | null
    | undefined;
  readonly ipip: { readonly key: string; readonly manager: IpipManager } | null | undefined;
}

export interface LinksStats {
  /** Workload interface settings (sysctls, gateway addresses) written because they differed. */
  vethSettingsWritten: number;
  fdbWritten: number;
  fdbDeleted: number;
  neighWritten: number;
  neighDeleted: number;
  vxlanCreated: number;
  vxlanDeleted: number;
}

export interface LinksOptions {
  readonly netlink: Netlink;
}

const IFACE_RE = /^[^\s/]{1,15}$/;

export class LinksReconciler {
  readonly stats: LinksStats = {
    vethSettingsWritten: 0,
    fdbWritten: 0,
    fdbDeleted: 0,
    neighWritten: 0,
    neighDeleted: 0,
    vxlanCreated: 0,
    vxlanDeleted: 0,
  };
  readonly #nl: Netlink;
  #desired: CompiledLinks = { endpoints: new Map(), vxlan: undefined, ipip: undefined };
  /** Interfaces whose settings are known to be in place (cleared by requestResync). */
  #configured = new Set<string>();
  /** Endpoints whose interface did not exist at the last look. */
  #missing: WorkloadEndpoint[] = [];
  #vxlanResync = false;
  #ipipResync = false;
  /** Whether the absence of our VXLAN device was confirmed since the last resync. */
  #vxlanAbsent = false;

  constructor(opts: LinksOptions) {
    this.#nl = opts.netlink;
  }

  /** Validate (FELIX_ERR_INVALID_ROUTE) without changing anything. */
  compile(
    endpoints: readonly WorkloadEndpoint[],
    vxlan: VxlanDesired | null | undefined,
    ipip: IpipDesired | null | undefined,
  ): CompiledLinks {
    const byIface = new Map<string, WorkloadEndpoint>();
    for (const ep of endpoints) {
      if (!IFACE_RE.test(ep.ifaceName)) {
        throw new FelixError(
          'FELIX_ERR_INVALID_ROUTE',
          `endpoint ${ep.id}: invalid interface name ${JSON.stringify(ep.ifaceName)}`,
        );
      }
      const prev = byIface.get(ep.ifaceName);
      if (prev !== undefined && prev.id !== ep.id) {
        throw new FelixError(
          'FELIX_ERR_INVALID_ROUTE',
          `endpoints ${prev.id} and ${ep.id} share interface ${ep.ifaceName}`,
        );
      }
      byIface.set(ep.ifaceName, ep);
    }
    let vx: CompiledLinks['vxlan'] = vxlan === undefined ? undefined : null;
    const current = this.#desired.vxlan;
    if (vxlan && current?.from === vxlan) {
      // The same (immutable) object as the state in force: validated then, nothing to build.
      vx = current;
    } else if (vxlan) {
      const { remoteVteps, ...device } = vxlan;
      const key = JSON.stringify(Object.entries(device).sort());
      // A new manager validates the device parameters; the VTEPs are validated on it too.
      const candidate = new VxlanManager({ netlink: this.#nl, ...device });
      candidate.setRemoteVteps(remoteVteps);
      vx = {
        key,
        manager: current?.key === key ? current.manager : candidate,
        vteps: remoteVteps,
        from: vxlan,
      };
    }
    let ip: CompiledLinks['ipip'] = ipip === undefined ? undefined : null;
    if (ipip) {
      const key = JSON.stringify(Object.entries(ipip).sort());
      const current = this.#desired.ipip;
      ip = {
        key,
        manager: current?.key === key ? current.manager : new IpipManager({ netlink: this.#nl, ...ipip }),
      };
    }
    return { endpoints: byIface, vxlan: vx, ipip: ip };
  }

  /** Install a compiled state (between applies only). */
  setCompiled(next: CompiledLinks): void {
    if (next.vxlan && next.vxlan !== this.#desired.vxlan) next.vxlan.manager.setRemoteVteps(next.vxlan.vteps);
    if (next.vxlan !== null) this.#vxlanAbsent = false;
    this.#desired = next;
  }

  get desired(): CompiledLinks {
    return this.#desired;
  }

  /** Endpoints (ids) whose host interface did not exist at the last apply. */
  get missing(): readonly string[] {
    return this.#missing.map((ep) => ep.id);
  }

  /** Endpoints whose host interface did not exist at the last apply. */
  get missingEndpoints(): readonly WorkloadEndpoint[] {
    return this.#missing;
  }

  requestResync(): void {
    this.#configured.clear();
    this.#vxlanResync = true;
    this.#ipipResync = true;
    this.#vxlanAbsent = false;
  }

  async apply(): Promise<void> {
    const d = this.#desired;
    if (d.vxlan) {
      const resync = this.#vxlanResync;
      this.#vxlanResync = false;
      const r = resync ? await d.vxlan.manager.resync() : await d.vxlan.manager.apply();
      this.stats.fdbWritten += r.fdbWritten;
      this.stats.fdbDeleted += r.fdbDeleted;
      this.stats.neighWritten += r.neighWritten;
      this.stats.neighDeleted += r.neighDeleted;
      if (r.deviceCreated) this.stats.vxlanCreated++;
    } else if (d.vxlan === null && !this.#vxlanAbsent) {
      await this.#deleteVxlan();
      this.#vxlanAbsent = true;
    }
    if (d.ipip) {
      const resync = this.#ipipResync;
      this.#ipipResync = false;
      await (resync ? d.ipip.manager.resync() : d.ipip.manager.apply());
    }
    await this.#applyVeths(d.endpoints);
  }

  /** Delete our VXLAN device if it exists; true when it did. */
  async #deleteVxlan(name = VXLAN_DEVICE): Promise<boolean> {
    const r = await this.#nl.tryExec('ip', ['link', 'del', name]);
    if (r.code === 0) {
      this.stats.vxlanDeleted++;
      return true;
    }
    if (/Cannot find device|does not exist/.test(r.stderr)) return false;
    throw new FelixError('FELIX_ERR_COMMAND_FAILED', `ip link del ${name}: ${r.stderr.trim()}`, { cause: r });
  }

  /** `cleanup()`: our VXLAN device goes, whatever the desired state said. */
  async removeOwned(): Promise<string[]> {
    return (await this.#deleteVxlan()) ? [VXLAN_DEVICE] : [];
  }

  async #applyVeths(endpoints: ReadonlyMap<string, WorkloadEndpoint>): Promise<void> {
    const todo = [...endpoints.values()].filter((ep) => !this.#configured.has(ep.ifaceName));
    for (const iface of [...this.#configured]) if (!endpoints.has(iface)) this.#configured.delete(iface);
    if (todo.length === 0) {
      this.#missing = [];
      return;
    }
    // Only the interfaces not configured yet, and their IPv6 addresses only when one of them has
    // the IPv6 gateway to check.
    const links = await this.#nl.interfaces(
      todo.map((ep) => ep.ifaceName),
      { ipv6Addresses: todo.some((ep) => ep.ipv6.length > 0) },
    );
    const present = todo.filter((ep) => links.has(ep.ifaceName));
    this.#missing = todo.filter((ep) => !links.has(ep.ifaceName));
    if (present.length === 0) return;
    const wanted: [string, string][] = [];
    for (const ep of present) {
      wanted.push(
        ...hostVethSysctls({ ifaceName: ep.ifaceName, ipv4: ep.ipv4.length > 0, ipv6: ep.ipv6.length > 0 }),
      );
    }
    const current = await this.#nl.readSysctls(wanted.map(([k]) => k));
    const differ = wanted.filter(([, v], i) => current[i] !== v);
    if (differ.length > 0) await this.#nl.sysctl(differ);
    this.stats.vethSettingsWritten += differ.length;
    const gateway = `${POD_GATEWAY_V6}/64`;
    for (const ep of present) {
      if (ep.ipv6.length > 0 && !links.get(ep.ifaceName)!.includes(gateway)) {
        await this.#nl.exec('ip', ['addr', 'replace', gateway, 'dev', ep.ifaceName, 'nodad'], 6);
        this.stats.vethSettingsWritten++;
      }
      this.#configured.add(ep.ifaceName);
    }
  }
}
