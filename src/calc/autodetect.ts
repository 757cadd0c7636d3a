// Node address autodetection, the choice only (Calico's IP_AUTODETECTION_METHOD; the wiring reads
// the interfaces, asks the kernel `ip route get` for can-reach, and reads the Node for
// kubernetes-internal-ip; this file decides):
//
//   first-found              the first global address on the first interface (in the order given,
//                            i.e. the kernel's) whose name is not on the exclude list below
//   interface=RE[,RE…]       the first address on an interface whose name matches one of the
//                            regular expressions (unanchored, as Calico's Go regexp.MatchString)
//   skip-interface=RE[,RE…]  first-found, skipping interfaces that match instead of the default list
//   can-reach=DEST           the source address the kernel uses towards DEST (`canReachSource`)
//   cidr=CIDR[,CIDR…]        the first address inside one of the CIDRs
//   kubernetes-internal-ip   the Node's first InternalIP of the family
//
// Every method ignores loopback and link-local addresses and Margay's own devices (pod veths
// `mgy…`, `vxlan.margay`, `tunl0`), whose addresses are never the node's underlay. The prefix
// length comes from the interface that holds the address (CrossSubnet needs it); an address found
// on no interface (can-reach through a /32 tunnel, an InternalIP NATed away) gets /32 (/128).
// A failure is a value naming the method, never an exception: the wiring decides what to do.
import type { IpFamily } from './addr.ts';
import { canonicalIp, cidrContains, cidrFamily } from './addr.ts';

/** Calico's DEFAULT_INTERFACES_TO_EXCLUDE (calico/node autodetection), with `cali` → `mgy`. */
export const DEFAULT_EXCLUDED_INTERFACES: readonly RegExp[] = [
  /^docker.*/,
  /^cbr.*/,
  /^dummy.*/,
  /^virbr.*/,
  /^lxcbr.*/,
  /^veth.*/,
  /^lo$/,
  /^cali.*/,
  /^tunl.*/,
  /^flannel.*/,
  /^kube-ipvs.*/,
  /^cni.*/,
  /^vxlan\.calico.*/,
  /^vxlan-v6\.calico.*/,
  /^wireguard\.cali.*/,
  /^wg-v6\.cali.*/,
  /^nodelocaldns.*/,
  /^podman.*/,
];

/** Margay's own devices: excluded by every method. */
export const MARGAY_INTERFACES: readonly RegExp[] = [/^mgy/, /^vxlan\.margay$/, /^tunl0$/];

export interface InterfaceInfo {
  readonly name: string;
  readonly addresses: readonly {
    readonly address: string;
    readonly prefixLength: number;
    readonly family: IpFamily;
  }[];
}

export interface AutodetectInput {
  readonly family: IpFamily;
  /** The host's interfaces in kernel order (`ip -json addr show`). */
  readonly interfaces: readonly InterfaceInfo[];
  /**
   * can-reach: the source address the kernel uses towards the method's destination, resolved by
   * the caller (`ip route get DEST` → prefsrc); undefined when there is no route.
   */
  readonly canReachSource?: string;
  /** kubernetes-internal-ip: this node's Node object (its status.addresses). */
  readonly node?: { readonly status: { readonly addresses: readonly NodeStatusAddress[] } };
}

export interface NodeStatusAddress {
  readonly type: string;
  readonly address: string;
}

export type AutodetectResult =
  | {
      readonly ok: true;
      readonly address: string;
      readonly prefixLength: number;
      /** The interface holding the address, when one does. */
      readonly interfaceName?: string;
      /** "address/prefixLength", the NodeIdentity form. */
      readonly cidr: string;
    }
  | { readonly ok: false; readonly error: string };

function isUsable(address: string, family: IpFamily): boolean {
  const ip = canonicalIp(address);
  if (ip === undefined || ip.family !== family) return false;
  if (family === 4)
    return !cidrContains('127.0.0.0/8', ip.address) && !cidrContains('169.254.0.0/16', ip.address);
  return ip.address !== '::1' && !cidrContains('fe80::/10', ip.address) && ip.address !== '::';
}

function matchesAny(name: string, res: readonly RegExp[]): boolean {
  return res.some((re) => re.test(name));
}

function found(address: string, prefixLength: number, interfaceName?: string): AutodetectResult {
  const a = canonicalIp(address)!.address;
  return {
    ok: true,
    address: a,
    prefixLength,
    ...(interfaceName !== undefined ? { interfaceName } : {}),
    cidr: `${a}/${prefixLength}`,
  };
}

/** First usable address of the family on the first interface `keep` accepts. */
function firstAddress(
  input: AutodetectInput,
  keepInterface: (name: string) => boolean,
  keepAddress: (address: string) => boolean = () => true,
): AutodetectResult | undefined {
  for (const iface of input.interfaces) {
    if (matchesAny(iface.name, MARGAY_INTERFACES) || !keepInterface(iface.name)) continue;
    for (const a of iface.addresses) {
      if (a.family !== input.family || !isUsable(a.address, input.family) || !keepAddress(a.address))
        continue;
      return found(a.address, a.prefixLength, iface.name);
    }
  }
  return undefined;
}

/** The address as found on an interface (for its prefix length), else a host-length address. */
function locate(address: string, input: AutodetectInput): AutodetectResult {
  const want = canonicalIp(address)!.address;
  for (const iface of input.interfaces)
    for (const a of iface.addresses)
      if (canonicalIp(a.address)?.address === want) return found(want, a.prefixLength, iface.name);
  return found(want, input.family === 4 ? 32 : 128);
}

function compileList(text: string): RegExp[] | string {
  const out: RegExp[] = [];
  for (const part of text.split(',')) {
    const re = part.trim();
    if (re === '') return 'an empty regular expression';
    try {
      out.push(new RegExp(re));
    } catch (e) {
      return `invalid regular expression ${JSON.stringify(re)}: ${(e as Error).message}`;
    }
  }
  return out;
}

/** Choose this node's IPv4 or IPv6 underlay address by `method` (see the file comment). */
export function chooseAddress(method: string, input: AutodetectInput): AutodetectResult {
  const v = `IPv${input.family}`;
  const fail = (why: string): AutodetectResult => ({
    ok: false,
    error: `autodetection method ${JSON.stringify(method)} (${v}): ${why}`,
  });
  const eq = method.indexOf('=');
  const kind = eq < 0 ? method : method.slice(0, eq);
  const arg = eq < 0 ? '' : method.slice(eq + 1);
  switch (kind) {
    case 'first-found': {
      if (eq >= 0) return fail('takes no argument');
      return (
        firstAddress(input, (name) => !matchesAny(name, DEFAULT_EXCLUDED_INTERFACES)) ??
        fail(`no ${v} address on any interface outside the default exclude list`)
      );
    }
    case 'interface':
    case 'skip-interface': {
      const res = compileList(arg);
      if (typeof res === 'string') return fail(res);
      const include = kind === 'interface';
      return (
        firstAddress(input, (name) => matchesAny(name, res) === include) ??
        fail(
          include
            ? `no interface matching ${arg} has an ${v} address`
            : `no ${v} address on any interface not matching ${arg}`,
        )
      );
    }
    case 'cidr': {
      const cidrs = arg.split(',').map((c) => c.trim());
      const bad = cidrs.find((c) => cidrFamily(c) === undefined);
      if (arg === '' || bad !== undefined) return fail(`${JSON.stringify(bad ?? '')} is not a CIDR`);
      const mine = cidrs.filter((c) => cidrFamily(c) === input.family);
      if (mine.length === 0) return fail(`no ${v} CIDR in ${arg}`);
      return (
        firstAddress(
          input,
          () => true,
          (a) => mine.some((c) => cidrContains(c, a)),
        ) ?? fail(`no interface has an address inside ${mine.join(', ')}`)
      );
    }
    case 'can-reach': {
      if (arg === '') return fail('needs a destination, e.g. can-reach=192.0.2.1');
      const dest = canonicalIp(arg);
      if (dest !== undefined && dest.family !== input.family)
        return fail(`${arg} is not an ${v} destination`);
      const source = input.canReachSource;
      if (source === undefined) return fail(`no route to ${arg}`);
      const ip = canonicalIp(source);
      if (ip === undefined || ip.family !== input.family)
        return fail(`the route to ${arg} has no ${v} source address (got ${JSON.stringify(source)})`);
      if (!isUsable(ip.address, input.family))
        return fail(`the route to ${arg} uses source ${ip.address}, a loopback or link-local address`);
      return locate(ip.address, input);
    }
    case 'kubernetes-internal-ip': {
      if (eq >= 0) return fail('takes no argument');
      if (input.node === undefined) return fail('this node is not in the datastore (yet)');
      const hit = input.node.status.addresses.find(
        (a) => a.type === 'InternalIP' && canonicalIp(a.address)?.family === input.family,
      );
      if (hit === undefined) return fail(`the Node has no ${v} InternalIP in status.addresses`);
      return locate(hit.address, input);
    }
    default:
      return fail(
        'unknown method; use first-found, interface=REGEX, skip-interface=REGEX, can-reach=IP, cidr=CIDR or kubernetes-internal-ip',
      );
  }
}
