// The desired route set of a RouteTable (RouteTable.compile): every route validated and put in
// canonical form, and two different routes for one table/prefix rejected, before any of it can be
// written (a desired state with one bad route changes nothing: no half-apply).
//
// Cheap to build, because it is on the critical path of every apply with new routes: every route is
// validated before the first `ip -batch` line may be written, while the kernel waits. A canonical
// route, a next-hop list, a key string, a body string, an entry object and a Map insertion per
// route would make this most of the reconciler's overhead over a raw `ip -batch`, and the garbage
// collector would copy all of them because all of them survive (its pauses also stop the stream
// into ip). So a plain IPv4 gateway route (the bulk of a BGP-fed node's routes) costs three array
// slots — its destination, which is also its key (routeKey), its next-hop list, shared by all the
// routes via that gateway (CanonicalScratch), and its reason — and one slot in a typed-array hash
// of IPv4 main-table prefixes, fed with the numbers the validation parsed anyway (the duplicate
// check; other keys, few in practice, go through a Map). Destinations are read from one string per
// block of routes, so V8 does not flatten each given string in place. Its DesiredEntry (two
// objects) is built only when something needs the route as an object: a comparison with a route the
// kernel listed, list(), a refused line. An install onto an empty table and a removal build none,
// and no by-key Map either (built on the first lookup).
import { FelixError } from '../../errors.ts';
import {
  type CanonicalRoute,
  CanonicalScratch,
  canonicalRoute,
  gatewayRouteV4,
  type IpFamily,
  type NextHop,
  plainGatewayHopsV4,
  type RouteSpec,
  RouteType,
  RT_TABLE_MAIN,
  routeBody,
  routeKey,
} from '../../model/routes.ts';
import { defaultMetric } from '../netlink/routes-json.ts';
import { deleteLine, routeLine } from './lines.ts';

/**
 * The body of the last plain route rendered (IPv4, main table, unicast, no src or mtu: its body is
 * a function of its next hops alone), by its next-hop list. canonicalRoute shares one frozen list
 * between the routes via one gateway (CanonicalScratch), so 100k such routes share one body string
 * instead of each keeping its own.
 */
let plainHops: readonly NextHop[] | undefined;
let plainBody = '';

function isPlain(r: CanonicalRoute): boolean {
  return (
    r.family === 4 &&
    r.table === RT_TABLE_MAIN &&
    r.type === 'unicast' &&
    r.src === undefined &&
    r.mtu === undefined
  );
}

/**
 * Whether the kernel resolves a gateway of `r` in the routing table when it takes the route: a
 * unicast route with a next hop `via` an address that is not `onlink` (IPv4 fib_check_nh looks the
 * gateway up for a route of scope link or host, IPv6 ip6_route_check_nh for one without a gateway
 * of its own, and either refuses the route without one: "Nexthop has invalid gateway", "No route
 * to host"). Such a route can depend on a device route of the same apply (route-batch.ts writes
 * it in the second phase). A device route, a blackhole/unreachable route and an onlink hop need
 * nothing from the table; every next hop of an ECMP route counts.
 */
export function needsGateway(r: CanonicalRoute): boolean {
  if (r.type !== RouteType.unicast) return false;
  for (const h of r.nextHops) if (h.gateway !== undefined && h.onlink !== true) return true;
  return false;
}

/**
 * A desired route as the reconciler keeps it. The body is rendered on first use: an install needs
 * it only while the lines stream (ip is then the bottleneck and our CPU is free).
 */
export class DesiredEntry {
  readonly route: CanonicalRoute;
  /** routeKey(route). */
  readonly key: string;
  #body: string | undefined;

  constructor(route: CanonicalRoute) {
    this.route = route;
    this.key = routeKey(route);
  }

  /** routeBody(route): the part of the `ip route` line after the destination and protocol. */
  get body(): string {
    if (this.#body === undefined) {
      const r = this.route;
      if (!isPlain(r)) {
        this.#body = routeBody(r);
      } else {
        if (r.nextHops !== plainHops) {
          plainBody = routeBody(r);
          plainHops = r.nextHops;
        }
        this.#body = plainBody;
      }
    }
    return this.#body;
  }

  /** True when some next hop has no dev (the kernel picks it): compare with routeMatches. */
  get looseDev(): boolean {
    for (const h of this.route.nextHops) if (h.dev === undefined) return true;
    return false;
  }
}

export function desiredEntry(route: CanonicalRoute): DesiredEntry {
  return new DesiredEntry(route);
}

/**
 * A validated desired set: one entry per key, in the order the keys first appeared (the last
 * route given for a key). A plain IPv4 gateway route (plainGatewayHopsV4) is kept as its
 * destination, shared next-hop list and reason, and becomes a DesiredEntry (two objects) when it is
 * first used (`entry`): while the lines stream, not while the kernel waits for validation.
 */
export class DesiredRoutes {
  /** Per slot: its key (for a plain route, also its destination). */
  readonly #keys: string[];
  /** Per slot: the shared next-hop list of a plain route; undefined for any other route. */
  readonly #hops: (readonly NextHop[] | undefined)[];
  /** Per slot: a plain route's reason, or any other route's canonical form. */
  readonly #rest: (string | CanonicalRoute | undefined)[];
  readonly #entries: (DesiredEntry | undefined)[];
  #byKey: Map<string, number> | undefined;
  /** For a join (DesiredRoutes.join): its two sets, whose own indexes find a key's slot. */
  #joined: readonly [DesiredRoutes, DesiredRoutes] | undefined;
  #bodyHops: readonly NextHop[] | undefined;
  #body = '';

  private constructor(
    keys: string[],
    hops: (readonly NextHop[] | undefined)[],
    rest: (string | CanonicalRoute | undefined)[],
  ) {
    this.#keys = keys;
    this.#hops = hops;
    this.#rest = rest;
    this.#entries = new Array<DesiredEntry | undefined>(keys.length);
  }

  /** A set from entries, a later one for a key replacing an earlier one (tests, small sets). */
  static of(entries: Iterable<DesiredEntry>): DesiredRoutes {
    const byKey = new Map<string, DesiredEntry>();
    for (const e of entries) byKey.set(e.key, e);
    const set = new DesiredRoutes(
      [...byKey.keys()],
      [...byKey.values()].map(() => undefined),
      [...byKey.values()].map((e) => e.route),
    );
    [...byKey.values()].forEach((e, i) => {
      set.#entries[i] = e;
    });
    return set;
  }

  /**
   * The routes of `a` followed by those of `b`, as one compile of both lists would give them; or
   * undefined when a key is in both (one compile of both lists then decides whether they merge or
   * conflict). Nothing is validated again, and the join finds a key through the indexes of `a` and
   * `b`: a set compiled once and joined again and again (the remote routes, beside local pods
   * that come and go) costs the join only its slot arrays.
   */
  static join(a: DesiredRoutes, b: DesiredRoutes): DesiredRoutes | undefined {
    const [small, large] = a.size <= b.size ? [a, b] : [b, a];
    for (let i = 0; i < small.size; i++) if (large.has(small.keyAt(i))) return undefined;
    const set = new DesiredRoutes(a.#keys.concat(b.#keys), a.#hops.concat(b.#hops), a.#rest.concat(b.#rest));
    for (let i = 0; i < a.size; i++) set.#entries[i] = a.#entries[i];
    for (let j = 0; j < b.size; j++) set.#entries[a.size + j] = b.#entries[j];
    set.#joined = [a, b];
    return set;
  }

  /** The empty set. */
  static empty(): DesiredRoutes {
    return new DesiredRoutes([], [], []);
  }

  get size(): number {
    return this.#keys.length;
  }

  // Slot accessors that build no entry for a plain route: what the diff and the batch use per
  // line (100k of them) while the lines stream.

  /** The key of slot i. */
  keyAt(i: number): string {
    return this.#keys[i]!;
  }

  /** The family of slot i. */
  familyAt(i: number): IpFamily {
    return this.#hops[i] !== undefined ? 4 : this.entry(i).route.family;
  }

  /** Whether slot i is a plain IPv4 gateway route (plainGatewayHopsV4): no device, main table. */
  isPlain(i: number): boolean {
    return this.#hops[i] !== undefined;
  }

  /**
   * Whether the kernel must find slot i's gateway in the table when it takes the route
   * (needsGateway): a plain route always (it has a gateway and no device, so no onlink).
   */
  needsGatewayAt(i: number): boolean {
    return this.#hops[i] !== undefined || needsGateway(this.#rest[i] as CanonicalRoute);
  }

  /** The slot of `key`, or -1. */
  indexOf(key: string): number {
    if (this.#keys.length === 0) return -1;
    const joined = this.#joined;
    if (joined !== undefined) {
      const i = joined[0].indexOf(key);
      if (i >= 0) return i;
      const j = joined[1].indexOf(key);
      return j < 0 ? -1 : joined[0].size + j;
    }
    return this.#index().get(key) ?? -1;
  }

  /** `route add|replace …` for slot i. */
  routeLine(verb: 'add' | 'replace', i: number, proto: number): string {
    const hops = this.#hops[i];
    if (hops === undefined) {
      const e = this.entry(i);
      return routeLine(verb, e.route.type, e.route.dst, proto, e.body);
    }
    return routeLine(verb, 'unicast', this.#keys[i]!, proto, this.#plainBody(hops));
  }

  /** `route del …` for slot i, at the default metric. */
  deleteLine(i: number, proto: number): string {
    if (this.#hops[i] !== undefined) return deleteLine(this.#keys[i]!, RT_TABLE_MAIN, 4, 0, proto);
    const r = this.entry(i).route;
    return deleteLine(r.dst, r.table, r.family, defaultMetric(r.family), proto);
  }

  /**
   * Whether slot i here and slot j of `other` are the same route when both are plain (one gateway
   * each: compared without building entries); undefined when either is not.
   */
  samePlain(i: number, other: DesiredRoutes, j: number): boolean | undefined {
    const a = this.#hops[i];
    const b = other.#hops[j];
    if (a === undefined || b === undefined) return undefined;
    return a === b || a[0]!.gateway === b[0]!.gateway;
  }

  /** The body of a plain route through `hops` (one string per gateway in a run of them). */
  #plainBody(hops: readonly NextHop[]): string {
    if (hops !== this.#bodyHops) {
      this.#bodyHops = hops;
      this.#body = ` via ${hops[0]!.gateway}`;
    }
    return this.#body;
  }

  /** The entry of slot i (0 <= i < size). */
  entry(i: number): DesiredEntry {
    let e = this.#entries[i];
    if (e === undefined) {
      const hops = this.#hops[i];
      const rest = this.#rest[i];
      const route =
        hops !== undefined
          ? gatewayRouteV4(this.#keys[i]!, hops, rest as string | undefined)
          : (rest as CanonicalRoute);
      e = new DesiredEntry(route);
      this.#entries[i] = e;
    }
    return e;
  }

  /** Every entry, in order. */
  get entries(): DesiredEntry[] {
    const out: DesiredEntry[] = [];
    for (let i = 0; i < this.#keys.length; i++) out.push(this.entry(i));
    return out;
  }

  has(key: string): boolean {
    return this.indexOf(key) >= 0;
  }

  get(key: string): DesiredEntry | undefined {
    const i = this.indexOf(key);
    return i < 0 ? undefined : this.entry(i);
  }

  #index(): Map<string, number> {
    if (this.#byKey === undefined) {
      const m = new Map<string, number>();
      for (let i = 0; i < this.#keys.length; i++) m.set(this.#keys[i]!, i);
      this.#byKey = m;
    }
    return this.#byKey;
  }

  /**
   * Validate and deduplicate `routes` (FELIX_ERR_INVALID_ROUTE naming the first problem): every
   * route canonical (canonicalRoute), of a managed family; identical routes for one key merge
   * (the last one's reason is kept), different ones are an error.
   */
  static compile(routes: readonly RouteSpec[], families: readonly IpFamily[]): DesiredRoutes {
    const slots: Slots = { keys: [], hops: [], rest: [] };
    fillSlots(routes, families, slots);
    return new DesiredRoutes(slots.keys, slots.hops, slots.rest);
  }
}

/** The slots of a DesiredRoutes, as compile fills them. */
interface Slots {
  readonly keys: string[];
  readonly hops: (readonly NextHop[] | undefined)[];
  readonly rest: (string | CanonicalRoute | undefined)[];
}

/**
 * The loop of DesiredRoutes.compile, on its own: it runs 100k times per call, is optimized while
 * it runs (on-stack replacement), and must not end in code that optimization had no feedback for
 * (a `new` after the loop made V8 throw the optimized loop away at the end of every call).
 */
function fillSlots(routes: readonly RouteSpec[], families: readonly IpFamily[], slots: Slots): void {
  const scratch = new CanonicalScratch();
  const v4 = new V4KeyIndex(routes.length);
  const others = new Map<string, number>();
  const hasV4 = families.includes(4);
  for (let from = 0; from < routes.length; from += BLOCK) {
    const to = Math.min(routes.length, from + BLOCK);
    fillBlock(routes, from, to, hasV4, families, slots, scratch, v4, others);
  }
}

/**
 * Routes [from, to) into the slots. Their destinations are read from one string: scanning each
 * given string would make V8 flatten it in place (a template literal is a tree of pieces until
 * then), and the flat copy would survive with it. (A function of its own, so that V8 optimizes it
 * as a whole rather than replacing its loops on the stack and leaving them at every block end.)
 */
function fillBlock(
  routes: readonly RouteSpec[],
  from: number,
  to: number,
  hasV4: boolean,
  families: readonly IpFamily[],
  slots: Slots,
  scratch: CanonicalScratch,
  v4: V4KeyIndex,
  others: Map<string, number>,
): void {
  let text = '';
  for (let i = from; i < to; i++) {
    const dst = routes[i]!.dst;
    if (typeof dst === 'string') text += dst;
  }
  let at = 0;
  for (let i = from; i < to; i++) {
    const spec = routes[i]!;
    const dstAt = at;
    if (typeof spec.dst === 'string') at += spec.dst.length;
    const hops = hasV4 ? plainGatewayHopsV4(spec, scratch, text, dstAt) : undefined;
    addSlot(spec, hops, families, slots, scratch, v4, others);
  }
}

/** Block of routes whose destinations are validated from one string (fillSlots). */
const BLOCK = 512;

/** One route into the slots (fillSlots): a new key, the same route again, or an error. */
function addSlot(
  spec: RouteSpec,
  hops: readonly NextHop[] | undefined,
  families: readonly IpFamily[],
  slots: Slots,
  scratch: CanonicalScratch,
  v4: V4KeyIndex,
  others: Map<string, number>,
): void {
  const { keys, hops: hopsOf, rest } = slots;
  if (hops !== undefined) {
    const at = v4.putIfAbsent(scratch.v4Address, scratch.v4Length, keys.length);
    if (at < 0) {
      keys.push(spec.dst);
      hopsOf.push(hops);
      rest.push(spec.reason);
      return;
    }
    if (hopsOf[at] === hops) {
      rest[at] = spec.reason; // the same gateway (next-hop lists are shared): identical
      return;
    }
  }
  const r = hops !== undefined ? gatewayRouteV4(spec.dst, hops, spec.reason) : canonicalRoute(spec, scratch);
  if (!families.includes(r.family)) {
    throw new FelixError('FELIX_ERR_INVALID_ROUTE', `route ${r.dst}: IPv${r.family} is not managed here`);
  }
  const key = routeKey(r);
  let at: number;
  if (r.family === 4 && r.table === RT_TABLE_MAIN) {
    at = v4.putIfAbsent(scratch.v4Address, scratch.v4Length, keys.length);
  } else {
    at = others.get(key) ?? -1;
    if (at < 0) others.set(key, keys.length);
  }
  if (at < 0) {
    keys.push(key);
    hopsOf.push(undefined);
    rest.push(r);
    return;
  }
  const prevHops = hopsOf[at];
  const prevRest = rest[at];
  const prev =
    prevHops !== undefined
      ? gatewayRouteV4(keys[at]!, prevHops, prevRest as string | undefined)
      : (prevRest as CanonicalRoute);
  if (routeBody(prev) !== routeBody(r) || prev.type !== r.type) {
    throw new FelixError(
      'FELIX_ERR_INVALID_ROUTE',
      `two different routes for ${r.dst} in table ${r.table}: "${prev.reason ?? ''}" and "${r.reason ?? ''}"`,
    );
  }
  hopsOf[at] = undefined;
  rest[at] = r;
}

/** DesiredRoutes.compile. */
export function compileDesired(routes: readonly RouteSpec[], families: readonly IpFamily[]): DesiredRoutes {
  return DesiredRoutes.compile(routes, families);
}

/**
 * Open-addressing hash of IPv4 prefixes (address and length, as canonicalRoute found them:
 * CanonicalScratch) to entry positions, in typed arrays: no string hashing, no allocation per key.
 */
class V4KeyIndex {
  readonly #addrs: Int32Array;
  /** Prefix length + 1; 0 = empty slot. */
  readonly #lens: Uint8Array;
  readonly #at: Int32Array;
  readonly #mask: number;
  /** 32 - log2(size): the slot is the top bits of a multiplicative hash. */
  readonly #shift: number;

  constructor(count: number) {
    let bits = 4;
    while (1 << bits < count * 2) bits++;
    const size = 1 << bits;
    this.#addrs = new Int32Array(size);
    this.#lens = new Uint8Array(size);
    this.#at = new Int32Array(size);
    this.#mask = size - 1;
    this.#shift = 32 - bits;
  }

  /** The position stored for the prefix `addr/len`, or -1 after storing `at` for it. */
  putIfAbsent(addr: number, len: number, at: number): number {
    const lens = this.#lens;
    const addrs = this.#addrs;
    let slot = Math.imul(addr ^ Math.imul(len + 1, 0x27d4eb2d), 0x9e3779b1) >>> this.#shift;
    for (;;) {
      const l = lens[slot]!;
      if (l === 0) {
        lens[slot] = len + 1;
        addrs[slot] = addr;
        this.#at[slot] = at;
        return -1;
      }
      if (l === len + 1 && addrs[slot] === addr) return this.#at[slot]!;
      slot = (slot + 1) & this.#mask;
    }
  }
}
