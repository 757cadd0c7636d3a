// Desired ipsets: selector memberships (pod IPs), IPAM pools, ipBlocks. Pure records + helpers.
//
// Members are compared with what `ipset save` prints, so they are canonicalized the way the kernel
// prints them: IPv4 dotted quad, IPv6 compressed lower-case (RFC 5952, as glibc's inet_ntop),
// host bits of a network masked, /32 and /128 written as plain addresses, ports as `proto:port`.
// A desired set is normalized (members sorted and deduplicated), so the restore text depends only
// on the set's content, never on the order its members were discovered in.
//
// Canonicalization runs once per member: a set made by `normalizeIpSet` or by
// `ipSetOfCanonicalMembers` (members the caller built from canonical parts) is remembered, and
// `normalizeIpSet` hands such a set back as it is. The records are immutable once made, so the
// policy calculation canonicalizes pod addresses when a pod arrives and the Dataplane, given the
// same set object again, neither parses nor copies its members.
import { FelixError } from '../errors.ts';
import { formatIp, parseCidr, parseIpOf, scanCanonicalV4 } from './addr.ts';
import type { InetFamily } from './iptables.ts';
import { ipFamilyOfInet, stableHash } from './iptables.ts';

export const IPSET_TYPES = ['hash:ip', 'hash:net', 'hash:ip,port', 'hash:net,port'] as const;
export type IpSetType = (typeof IPSET_TYPES)[number];

export interface IpSet {
  /** ≤ 31 characters, starts with IPSET_PREFIX. */
  readonly name: string;
  readonly type: IpSetType;
  readonly family: InetFamily;
  readonly members: readonly string[];
  /** Why the set exists, e.g. "selector app == 'web'"; for the status API, never written. */
  readonly origin?: string;
}

/** Every set we own starts with `mgy`; desired sets with `mgy-`, swap temporaries with `mgytmp-`. */
export const IPSET_OWNED_PREFIX = 'mgy';
export const IPSET_PREFIX = 'mgy-';
export const IPSET_TEMP_PREFIX = 'mgytmp-';
/** IPSET_MAXNAMELEN - 1. */
export const MAX_IPSET_NAME = 31;

/**
 * `mgy-<kind>-<hash>` for a set of `type`/`family` identified by `key` (e.g. a selector). The type
 * and family are part of the hash, so a set's type never changes under one name (ipset cannot
 * swap sets of different types).
 */
export function ipsetName(kind: string, key: string, type: IpSetType, family: InetFamily): string {
  if (!/^[a-z0-9]{1,8}$/.test(kind)) {
    throw new FelixError(
      'FELIX_ERR_INVALID_DESIRED',
      `ipset kind must be 1-8 lowercase alphanumerics: ${kind}`,
    );
  }
  return `${IPSET_PREFIX}${kind}-${stableHash(`${type}\0${family}\0${kind}\0${key}`, 16)}`;
}

/** The temporary name used to build a replacement for `name` before `swap`. */
export function tempIpsetName(name: string): string {
  return `${IPSET_TEMP_PREFIX}${stableHash(name, MAX_IPSET_NAME - IPSET_TEMP_PREFIX.length)}`;
}

function bad(message: string): never {
  throw new FelixError('FELIX_ERR_INVALID_DESIRED', message);
}

function parseAddress(s: string, family: InetFamily): readonly number[] {
  const bytes = parseIpOf(s, ipFamilyOfInet(family))?.bytes;
  if (bytes === undefined) bad(`not an ${family === 'inet' ? 'IPv4' : 'IPv6'} address: ${s}`);
  return bytes;
}

function formatAddress(bytes: readonly number[], _family: InetFamily): string {
  return formatIp(bytes);
}

function canonicalNet(s: string, family: InetFamily): string {
  const slash = s.indexOf('/');
  parseAddress(slash < 0 ? s : s.slice(0, slash), family); // a wrong family is named as such
  const c = parseCidr(s, { bare: true });
  if (c === undefined) return bad(`bad prefix length in ${s}`);
  // hash:net cannot hold /0 (the kernel refuses it); callers split 0.0.0.0/0 into two /1s.
  if (c.length === 0) bad(`hash:net cannot hold a /0 network: ${s}`);
  const addr = formatIp(c.bytes);
  return c.length === c.bytes.length * 8 ? addr : `${addr}/${c.length}`;
}

const PROTOS = new Set(['tcp', 'udp', 'sctp', 'udplite']);

function canonicalPort(s: string): string {
  const colon = s.indexOf(':');
  const proto = colon < 0 ? 'tcp' : s.slice(0, colon).toLowerCase();
  const port = colon < 0 ? s : s.slice(colon + 1);
  if (!PROTOS.has(proto)) bad(`unsupported protocol in ipset member port ${s}`);
  if (!/^(0|[1-9][0-9]{0,4})$/.test(port) || Number(port) > 65535) bad(`bad port in ${s}`);
  return `${proto}:${port}`;
}

/** The member as `ipset save` prints it; throws FELIX_ERR_INVALID_DESIRED for a bad member. */
export function canonicalMember(type: IpSetType, family: InetFamily, member: string): string {
  const comma = member.indexOf(',');
  const withPort = type === 'hash:ip,port' || type === 'hash:net,port';
  if (withPort !== comma >= 0) bad(`member ${member} does not fit type ${type}`);
  const addrPart = withPort ? member.slice(0, comma) : member;
  const addr =
    type === 'hash:ip' || type === 'hash:ip,port'
      ? family === 'inet' && scanCanonicalV4(addrPart, 0, addrPart.length, false, undefined)
        ? addrPart // already as ipset prints it: no parse, no new string
        : formatAddress(parseAddress(addrPart, family), family)
      : canonicalNet(addrPart, family);
  return withPort ? `${addr},${canonicalPort(member.slice(comma + 1))}` : addr;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Sets known to be normalized: made here, never changed afterwards.
const normalized = new WeakSet<IpSet>();

function checkHeader(set: IpSet): void {
  if (!set.name.startsWith(IPSET_PREFIX) || set.name.length > MAX_IPSET_NAME) {
    bad(
      `ipset name must start with ${IPSET_PREFIX} and be at most ${MAX_IPSET_NAME} characters: ${set.name}`,
    );
  }
  if (!/^[A-Za-z0-9_.:-]+$/.test(set.name)) bad(`bad characters in ipset name ${set.name}`);
  if (!IPSET_TYPES.includes(set.type)) bad(`unsupported ipset type ${set.type}`);
}

function made(set: IpSet, members: readonly string[]): IpSet {
  const out: IpSet = { name: set.name, type: set.type, family: set.family, members };
  const done = set.origin === undefined ? out : { ...out, origin: set.origin };
  normalized.add(done);
  return done;
}

/** Members added to and deleted from a set, each sorted. */
export interface MemberChange {
  readonly adds: readonly string[];
  readonly dels: readonly string[];
}

/** Serial numbers of sets, for ChangedIpSet to name the set it was made from without holding it. */
const serials = new WeakMap<IpSet, number>();
let nextSerial = 1;

function serialOf(set: IpSet): number {
  let n = serials.get(set);
  if (n === undefined) {
    n = nextSerial++;
    serials.set(set, n);
  }
  return n;
}

/**
 * A normalized set made from an earlier one by a change (ipSetWithChange). Its members array is
 * built when something first reads it, from the last set whose array was built (its base) and the
 * change since then, composed; until then it costs the change, not the set's size. The change
 * from the set it was made from stays readable (changeFrom) for the ipset writer, which then
 * writes it without comparing the two member lists. It refers to that set by serial number only,
 * so that a run of changed sets never keeps the earlier ones alive.
 */
class ChangedIpSet implements IpSet {
  readonly name: string;
  readonly type: IpSetType;
  readonly family: InetFamily;
  declare readonly members: readonly string[];
  declare readonly origin?: string;
  // Private, with getters on the prototype: the set's own enumerable properties are those of a
  // plain set (a copy, JSON or a deep comparison sees no difference).
  readonly #size: number;
  readonly #step: MemberChange;
  readonly #fromSerial: number;
  #base: IpSet | undefined;
  #since: MemberChange | undefined;
  #members: readonly string[] | undefined;

  constructor(
    earlier: IpSet,
    size: number,
    step: MemberChange,
    base: IpSet,
    since: MemberChange,
    origin: string | undefined,
  ) {
    this.name = earlier.name;
    this.type = earlier.type;
    this.family = earlier.family;
    // An own enumerable accessor: a copy by spread or JSON carries the members as a plain set has.
    Object.defineProperty(this, 'members', { enumerable: true, get: () => this.#materialize() });
    if (origin !== undefined) this.origin = origin;
    this.#size = size;
    this.#step = step;
    this.#fromSerial = serialOf(earlier);
    this.#base = base;
    this.#since = since;
  }

  /** How many members it has (without building the array). */
  get size(): number {
    return this.#size;
  }

  /** The change from the set it was made from. */
  get step(): MemberChange {
    return this.#step;
  }

  /** The serial number (serialOf) of the set it was made from. */
  get fromSerial(): number {
    return this.#fromSerial;
  }

  /** The base and the change since it, while the array is not built. */
  get pending(): { readonly base: IpSet; readonly since: MemberChange } | undefined {
    return this.#base === undefined ? undefined : { base: this.#base, since: this.#since! };
  }

  #materialize(): readonly string[] {
    if (this.#members === undefined) {
      this.#members = applySortedChange(this.#base!.members, this.#since!);
      this.#base = undefined;
      this.#since = undefined;
    }
    return this.#members;
  }
}

/** `from` (sorted) with `change` applied: dels (all in `from`) out, adds (none in `from`) in. */
function applySortedChange(from: readonly string[], change: MemberChange): string[] {
  const { adds, dels } = change;
  const out = new Array<string>(from.length + adds.length - dels.length);
  let i = 0;
  let a = 0;
  let d = 0;
  let o = 0;
  while (i < from.length || a < adds.length) {
    if (a >= adds.length || (i < from.length && from[i]! < adds[a]!)) {
      const m = from[i++]!;
      if (d < dels.length && dels[d] === m) d++;
      else out[o++] = m;
    } else out[o++] = adds[a++]!;
  }
  out.length = o;
  return out;
}

/** The change `first` then `second` as one change from the set before `first`. */
function composeChanges(first: MemberChange, second: MemberChange): MemberChange {
  const secondDels = new Set(second.dels);
  const secondAdds = new Set(second.adds);
  const firstAdds = new Set(first.adds);
  const firstDels = new Set(first.dels);
  const adds = [
    ...first.adds.filter((m) => !secondDels.has(m)),
    ...second.adds.filter((m) => !firstDels.has(m)),
  ].sort(compare);
  const dels = [
    ...first.dels.filter((m) => !secondAdds.has(m)),
    ...second.dels.filter((m) => !firstAdds.has(m)),
  ].sort(compare);
  return { adds, dels };
}

/**
 * Changes composed since the last built members array above which the next changed set builds its
 * own at once (a share of the set's size, so that building costs little per change on average).
 */
function rebuildAt(size: number): number {
  return Math.max(64, size >> 4);
}

/**
 * The set `earlier` (normalized) with `change` applied: `adds` are canonical members not in it,
 * `dels` members of it, both sorted. The result is normalized (see ChangedIpSet for its cost).
 */
export function ipSetWithChange(earlier: IpSet, change: MemberChange): IpSet {
  const size = memberCount(earlier) + change.adds.length - change.dels.length;
  const pending = earlier instanceof ChangedIpSet ? earlier.pending : undefined;
  const base = pending?.base ?? earlier;
  const since = pending === undefined ? change : composeChanges(pending.since, change);
  const set = new ChangedIpSet(earlier, size, change, base, since, earlier.origin);
  if (since.adds.length + since.dels.length > rebuildAt(size)) void set.members;
  normalized.add(set);
  return set;
}

/**
 * What `set` adds to and deletes from `earlier` when it was made from it by ipSetWithChange;
 * undefined for any other pair (compare the member lists then).
 */
export function changeFrom(set: IpSet, earlier: IpSet): MemberChange | undefined {
  return set instanceof ChangedIpSet && serials.get(earlier) === set.fromSerial ? set.step : undefined;
}

/** How many members `set` has, without building the array of a changed set. */
export function memberCount(set: IpSet): number {
  return set instanceof ChangedIpSet ? set.size : set.members.length;
}

/** Validates and canonicalizes one set: members canonical, sorted, deduplicated. */
export function normalizeIpSet(set: IpSet): IpSet {
  if (normalized.has(set)) return set;
  checkHeader(set);
  const members = [...new Set(set.members.map((m) => canonicalMember(set.type, set.family, m)))].sort(
    compare,
  );
  return made(set, members);
}

/**
 * A normalized set from members that are canonical already (each one as `canonicalMember` returns
 * it, or assembled from such parts, e.g. `${canonical address},tcp:80`): the name and type are
 * checked and the members sorted and deduplicated, but never parsed again. The members array is
 * kept as it is when it is sorted without duplicates already; a caller that keeps its members that
 * way itself says `sorted: true` and the check is skipped.
 */
export function ipSetOfCanonicalMembers(set: IpSet, opts: { readonly sorted?: boolean } = {}): IpSet {
  checkHeader(set);
  const m = set.members;
  let sorted = opts.sorted === true;
  if (!sorted) {
    sorted = true;
    for (let i = 1; i < m.length && sorted; i++) sorted = m[i - 1]! < m[i]!;
  }
  return made(set, sorted ? m : [...new Set(m)].sort(compare));
}

/**
 * Normalizes a whole desired collection: sorted by name; a name given twice must describe the same
 * set (same type, family and members after canonicalization).
 */
export function normalizeIpSets(sets: readonly IpSet[]): IpSet[] {
  const byName = new Map<string, IpSet>();
  for (const raw of sets) {
    const s = normalizeIpSet(raw);
    const prev = byName.get(s.name);
    if (
      prev !== undefined &&
      (prev.type !== s.type || prev.family !== s.family || prev.members.join(' ') !== s.members.join(' '))
    ) {
      bad(`two different ipsets named ${s.name}`);
    }
    byName.set(s.name, prev ?? s);
  }
  return [...byName.values()].sort((a, b) => compare(a.name, b.name));
}
