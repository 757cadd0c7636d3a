// IPv4/IPv6 address text <-> bytes for felix/model (pure: no node:net). One parser and one
// formatter for routes and ipsets: what we compare against is what `ip` and `ipset save` print,
// and both print with glibc's inet_ntop (RFC 5952, dotted tail for IPv4-mapped/compatible).

export function parseV4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255 || (p.length > 1 && p[0] === '0')) return undefined;
    out.push(n);
  }
  return out;
}

/** 16 bytes of an IPv6 address, or undefined. Accepts `::` compression and an embedded IPv4 tail. */
export function parseV6(input: string): number[] | undefined {
  let s = input.toLowerCase();
  const pct = s.indexOf('%');
  if (pct >= 0) return undefined; // zone ids have no place in routes
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    words = head;
  }
  if (words.length !== 8) return undefined;
  if (tail.length === 2) {
    words[6] = tail[0]!;
    words[7] = tail[1]!;
  }
  const bytes: number[] = [];
  for (const w of words) bytes.push(w >> 8, w & 0xff);
  return bytes;
}

/** RFC 5952 text of 16 bytes, as glibc inet_ntop writes it. */
export function formatV6(bytes: readonly number[]): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: compress the first longest run of two or more zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  // glibc inet_ntop writes IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses
  // with a dotted tail; ipset prints what inet_ntop gives.
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
    return `::${bestLen === 5 ? 'ffff:' : ''}${bytes.slice(12).join('.')}`;
  }
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Where scanCanonicalV4 leaves the numbers of what it accepted. */
export interface ScannedV4 {
  /** The address, as an int32. */
  v4Address: number;
  /** The prefix length (32 for an address). */
  v4Length: number;
}

/**
 * Whether s[from, to) is a dotted-quad IPv4 address (or, `withLength`, a prefix "a.b.c.d/n" with
 * no host bits) in the one canonical spelling (no leading zeros); when it is and `out` is given,
 * its numbers are stored there. One pass, integer arithmetic only, no allocation (the route
 * reconciler validates 100k destinations before it may write the first one).
 */
export function scanCanonicalV4(
  s: string,
  from: number,
  to: number,
  withLength: boolean,
  out: ScannedV4 | undefined,
): boolean {
  let i = from;
  let value = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= to || s.charCodeAt(i) !== 46) return false;
      i++;
    }
    const start = i;
    let v = 0;
    while (i < to) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return false;
    value = (value << 8) | v;
  }
  let len = 32;
  if (withLength) {
    if (i >= to || s.charCodeAt(i) !== 47) return false;
    i++;
    const start = i;
    len = 0;
    while (i < to) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return false;
      len = len * 10 + c;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 2 || len > 32 || (digits > 1 && s.charCodeAt(start) === 48)) return false;
    const hostBits = len === 32 ? 0 : len === 0 ? value : value & ((1 << (32 - len)) - 1);
    if (hostBits !== 0) return false;
  } else if (i !== to) {
    return false;
  }
  if (out !== undefined) {
    out.v4Address = value;
    out.v4Length = len;
  }
  return true;
}
