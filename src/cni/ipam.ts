// margay-cni's IPAM: addresses from the node's pod CIDR(s), one file per allocated address.
//
// Layout: `${dataDir}/${network}/` (default /var/lib/margay/ipam/k8s-pod-network/) holds
//   10.244.1.5            "<containerID>\n<ifname>\n<pod namespace/name>\n"   (one per address)
//   2001:db8:1::5         same, for the IPv6 address of a dual-stack pod
//   last_reserved_ip.0    the last address handed out from range set 0 (a hint, host-local's name)
// The same shape as the reference host-local plugin, so an operator can `ls` and `cat` it.
//
// Never twice: an address file is created by link(2)ing a fully written, fsynced temporary file
// to the address's name; link fails with EEXIST when the name exists, atomically across processes
// (an O_EXCL create, but the content is there the moment the name is). 50 plugins started at
// once for 50 pods each try the next free candidate and move on when they lose a race. A crash
// leaves at worst a `.tmp-*` file, never an empty address file that would leak the address.
// State is the files: it survives a reboot; DEL (and GC of CNI 1.1) removes them.
//
// Which addresses are handed out: the network address (.0, and the IPv6 all-zero host) is the
// node's VXLAN tunnel address (felix vtepTunnelAddress) and never a pod's; the IPv4 broadcast
// address is skipped too (harmless in a routed /32 model, but other tools treat it specially).
// There is no gateway inside the CIDR: pods route via the link-local 169.254.1.1 / fe80::1, so the
// first host address (.1) is a pod address. A /24 thus gives .1-.254 (254 pods). Allocation is
// round-robin from the last handed-out address (host-local's rule), so a just-freed address is not
// reused at once (conntrack entries, stale peer caches).
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { formatIp, parseCidr, parseIp } from '../../felix/index.ts';
import { CniError } from './spec.ts';

export interface AddressRange {
  readonly family: 4 | 6;
  /** The CIDR as given, canonical ("10.244.1.0/24"). */
  readonly subnet: string;
  /** First and last address handed out, inclusive. */
  readonly first: bigint;
  readonly last: bigint;
}

export interface RangeInput {
  readonly subnet: string;
  readonly rangeStart?: string | undefined;
  readonly rangeEnd?: string | undefined;
}

export function addressToBigInt(bytes: readonly number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigIntToAddress(family: 4 | 6, n: bigint): string {
  const len = family === 4 ? 4 : 16;
  const bytes = new Array<number>(len);
  for (let i = len - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return formatIp(bytes);
}

/** Validate a range; throws a plain Error naming the problem (the config parser adds the field). */
export function parseRange(r: RangeInput): AddressRange {
  const p = parseCidr(r.subnet, { bare: true });
  if (p === undefined || !r.subnet.includes('/'))
    throw new Error(`subnet ${JSON.stringify(r.subnet)} is not a CIDR`);
  const bits = p.family === 4 ? 32 : 128;
  const subnet = `${formatIp(p.bytes)}/${p.length}`;
  const net = addressToBigInt(p.bytes);
  const size = 1n << BigInt(bits - p.length);
  // Skip the network address; for IPv4 also the broadcast address.
  let first = net + 1n;
  let last = p.family === 4 ? net + size - 2n : net + size - 1n;
  if (first > last) throw new Error(`subnet ${subnet} has no address to hand out (too long a prefix)`);
  const bound = (s: string, what: string): bigint => {
    const a = parseIp(s);
    if (a === undefined || a.family !== p.family)
      throw new Error(`${what} ${JSON.stringify(s)} is not an IPv${p.family} address`);
    const n = addressToBigInt(a.bytes);
    if (n < first || n > last) throw new Error(`${what} ${s} is not a usable address of ${subnet}`);
    return n;
  };
  if (r.rangeStart !== undefined) first = bound(r.rangeStart, 'rangeStart');
  if (r.rangeEnd !== undefined) last = bound(r.rangeEnd, 'rangeEnd');
  if (first > last) throw new Error(`rangeStart is after rangeEnd in ${subnet}`);
  return { family: p.family, subnet, first, last };
}

export interface Owner {
  readonly containerId: string;
  readonly ifName: string;
  /** "namespace/name", for operators reading the files. */
  readonly pod?: string | undefined;
}

export interface Allocation {
  readonly address: string;
  readonly family: 4 | 6;
  /** The range's subnet (for the result's prefix length and error messages). */
  readonly subnet: string;
}

export interface AllocationRecord extends Owner {
  readonly address: string;
}

const HINT_PREFIX = 'last_reserved_ip.';

function ioError(what: string, e: unknown): CniError {
  return new CniError('MARGAY_ERR_CNI_IPAM_STORE', `IPAM ${what}: ${(e as Error).message}`, { cause: e });
}

function isEexist(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EEXIST';
}

/** The file-per-address store of one network. All operations are synchronous (a CLI process). */
export class IpamStore {
  readonly dir: string;

  constructor(opts: { dataDir: string; network: string }) {
    this.dir = join(opts.dataDir, opts.network);
  }

  #ensureDir(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw ioError(`cannot create ${this.dir}`, e);
    }
  }

  /** Every allocation (files that do not parse as addresses are ignored). */
  list(): AllocationRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(`cannot list ${this.dir}`, e);
    }
    const out: AllocationRecord[] = [];
    for (const name of names) {
      if (name.startsWith('.') || name.startsWith(HINT_PREFIX) || parseIp(name) === undefined) continue;
      let text: string;
      try {
        text = readFileSync(join(this.dir, name), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // freed meanwhile
        throw ioError(`cannot read ${join(this.dir, name)}`, e);
      }
      const [containerId = '', ifName = '', pod] = text.split('\n');
      out.push({ address: name, containerId, ifName, ...(pod ? { pod } : {}) });
    }
    return out;
  }

  /** The addresses held by one attachment. */
  find(owner: Owner): string[] {
    return this.list()
      .filter((r) => r.containerId === owner.containerId && r.ifName === owner.ifName)
      .map((r) => r.address);
  }

  /**
   * One address from each range set (dual stack: one IPv4 set, one IPv6 set). An attachment that
   * already holds an address in a set keeps it (a runtime retrying ADD gets the same address).
   * All or nothing: when a set is full, what this call took is freed again and
   * MARGAY_ERR_CNI_POOL_FULL names the CIDR(s).
   */
  allocate(owner: Owner, rangeSets: readonly (readonly AddressRange[])[]): Allocation[] {
    this.#ensureDir();
    const held = this.find(owner);
    const taken: string[] = [];
    const out: Allocation[] = [];
    try {
      rangeSets.forEach((set, i) => {
        const mine = held.find((a) => set.some((r) => inRange(r, a)));
        if (mine !== undefined) {
          const r = set.find((x) => inRange(x, mine)) as AddressRange;
          out.push({ address: mine, family: r.family, subnet: r.subnet });
          return;
        }
        const a = this.#allocateFrom(owner, set, i);
        taken.push(a.address);
        out.push(a);
      });
    } catch (e) {
      for (const a of taken) this.#unlink(a);
      throw e;
    }
    return out;
  }

  #allocateFrom(owner: Owner, set: readonly AddressRange[], index: number): Allocation {
    const used = new Set(this.list().map((r) => r.address));
    const hint = this.#readHint(index);
    const content = `${owner.containerId}\n${owner.ifName}\n${owner.pod ?? ''}\n`;
    // Candidates: every range of the set, starting after the hint when it lies in one.
    const start = set.findIndex(
      (r) => hint !== undefined && hint.family === r.family && hint.n >= r.first && hint.n <= r.last,
    );
    const order = start < 0 ? [...set.keys()] : [...set.keys()].map((k) => (k + start) % set.length);
    for (const [pos, k] of order.entries()) {
      const r = set[k] as AddressRange;
      const resumeAt = pos === 0 && start >= 0 && hint !== undefined ? hint.n + 1n : r.first;
      // Round-robin: after the hint to the end of its range first, then from the start up to it.
      const segments: [bigint, bigint][] = [[resumeAt, r.last]];
      if (resumeAt > r.first) segments.push([r.first, resumeAt - 1n]);
      for (const [lo, hi] of segments) {
        for (let n = lo; n <= hi; n++) {
          const address = bigIntToAddress(r.family, n);
          if (used.has(address)) continue;
          if (this.#claim(address, content)) {
            this.#writeHint(index, address);
            return { address, family: r.family, subnet: r.subnet };
          }
          used.add(address);
        }
      }
    }
    const cidrs = set.map((r) => r.subnet).join(', ');
    throw new CniError('MARGAY_ERR_CNI_POOL_FULL', `pod CIDR ${cidrs} is full: every address is allocated`, {
      details: `${used.size} address files in ${this.dir}; free addresses with DEL or CNI GC`,
    });
  }

  /** Atomically create the address file with its content; false when someone else has it. */
  #claim(address: string, content: string): boolean {
    const tmp = join(this.dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      const fd = openSync(tmp, 'wx', 0o644);
      try {
        writeSync(fd, content);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      throw ioError(`cannot write ${tmp}`, e);
    }
    try {
      linkSync(tmp, join(this.dir, address));
      return true;
    } catch (e) {
      if (isEexist(e)) return false;
      throw ioError(`cannot create ${join(this.dir, address)}`, e);
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone: nothing to clean
      }
    }
  }

  #readHint(index: number): { family: 4 | 6; n: bigint } | undefined {
    try {
      const a = parseIp(readFileSync(join(this.dir, `${HINT_PREFIX}${index}`), 'utf8').trim());
      return a === undefined ? undefined : { family: a.family, n: addressToBigInt(a.bytes) };
    } catch {
      return undefined; // no hint yet (or unreadable): start at the range's beginning
    }
  }

  #writeHint(index: number, address: string): void {
    // Best effort and atomic (rename): a lost race only changes where the next scan starts.
    const tmp = join(this.dir, `.hint-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      writeFileSync(tmp, address);
      renameSync(tmp, join(this.dir, `${HINT_PREFIX}${index}`));
    } catch (e) {
      throw ioError(`cannot write ${HINT_PREFIX}${index}`, e);
    }
  }

  #unlink(address: string): boolean {
    try {
      unlinkSync(join(this.dir, address));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw ioError(`cannot remove ${join(this.dir, address)}`, e);
    }
  }

  /** Free every address of one attachment; returns the addresses freed (none is fine: DEL twice). */
  release(owner: Owner): string[] {
    return this.find(owner).filter((a) => this.#unlink(a));
  }

  /** CNI 1.1 GC: free every address whose attachment is not in `valid`; returns what was freed. */
  gc(valid: readonly { containerID: string; ifname: string }[]): AllocationRecord[] {
    const keep = new Set(valid.map((v) => `${v.containerID}\n${v.ifname}`));
    return this.list().filter((r) => !keep.has(`${r.containerId}\n${r.ifName}`) && this.#unlink(r.address));
  }
}

function inRange(r: AddressRange, address: string): boolean {
  const a = parseIp(address);
  if (a === undefined || a.family !== r.family) return false;
  const n = addressToBigInt(a.bytes);
  return n >= r.first && n <= r.last;
}
