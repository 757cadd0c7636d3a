// Byte builders and a stream framer for the fuzzer's raw BGP peer (RFC 4271 §4 layouts, RFC 4760
// MP_REACH_NLRI / MP_UNREACH_NLRI, RFC 5492 capabilities). Deliberately independent of bgp/wire,
// the code under test: every length field can be given a value that disagrees with what follows
// it, which a correct encoder never produces.

export const MessageType = { open: 1, update: 2, notification: 3, keepalive: 4, routeRefresh: 5 } as const;
export const HEADER_LENGTH = 19;
export const MAX_LENGTH = 4096;
export const AS_TRANS = 23456;

export const AttrCode = {
  origin: 1,
  asPath: 2,
  nextHop: 3,
  med: 4,
  localPref: 5,
  atomicAggregate: 6,
  aggregator: 7,
  communities: 8,
  originatorId: 9,
  clusterList: 10,
  mpReach: 14,
  mpUnreach: 15,
  extendedCommunities: 16,
  largeCommunities: 32,
} as const;

export const Flag = { optional: 0x80, transitive: 0x40, partial: 0x20, extended: 0x10 } as const;

// ---- addresses and prefixes ------------------------------------------------------------------

export function ipv4Bytes(text: string): Uint8Array {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${text}`);
  }
  return Uint8Array.from(parts);
}

export function ipv6Bytes(text: string): Uint8Array {
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${text}`);
  const words = (s: string) => (s === '' ? [] : s.split(':').map((w) => Number.parseInt(w, 16)));
  const head = words(halves[0] ?? '');
  const tail = halves.length === 2 ? words(halves[1] ?? '') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  if (all.length !== 8 || all.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) {
    throw new Error(`not an IPv6 address: ${text}`);
  }
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export function formatIpv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text: lowercase, the first longest run of two or more zero words as "::". */
export function formatIpv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** Parses "A.B.C.D" or an IPv6 address into bytes; undefined when it is neither. */
export function parseIp(text: string): Uint8Array | undefined {
  try {
    return text.includes(':') ? ipv6Bytes(text) : ipv4Bytes(text);
  } catch {
    return undefined;
  }
}

/** A prefix as the wire carries it: the length in bits, then ceil(bits / 8) octets. */
export function encodePrefix(addr: Uint8Array, bits: number): Uint8Array {
  const n = Math.ceil(bits / 8);
  const out = new Uint8Array(1 + n);
  out[0] = bits;
  out.set(addr.subarray(0, n), 1);
  return out;
}

export function prefixBytes(text: string): Uint8Array {
  const [addr, len] = text.split('/') as [string, string];
  return encodePrefix(addr.includes(':') ? ipv6Bytes(addr) : ipv4Bytes(addr), Number(len));
}

/**
 * The canonical text of a prefix: host bits cleared (RFC 4271 §4.3: the trailing bits of the
 * last octet are irrelevant), IPv6 in RFC 5952 form.
 */
export function prefixKey(addr: Uint8Array, bits: number, v6: boolean): string {
  const full = new Uint8Array(v6 ? 16 : 4);
  full.set(addr.subarray(0, Math.min(addr.length, full.length)));
  for (let i = 0; i < full.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    full[i] = (full[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return `${v6 ? formatIpv6(full) : formatIpv4(full)}/${bits}`;
}

/** Canonical text of a prefix given as text (as the REST API prints it), or undefined. */
export function canonicalPrefix(text: string): string | undefined {
  const [addr, len] = text.split('/');
  const bits = Number(len);
  const bytes = addr === undefined ? undefined : parseIp(addr);
  if (bytes === undefined || !Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) return undefined;
  return prefixKey(bytes, bits, bytes.length === 16);
}

export function canonicalIp(text: string): string | undefined {
  const b = parseIp(text);
  if (b === undefined) return undefined;
  return b.length === 16 ? formatIpv6(b) : formatIpv4(b);
}

// ---- numbers -----------------------------------------------------------------------------------

export function u16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

export function u32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function readU16(b: Uint8Array, at: number): number {
  return (((b[at] ?? 0) << 8) | (b[at + 1] ?? 0)) >>> 0;
}

export function readU32(b: Uint8Array, at: number): number {
  return (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

// ---- path attributes and UPDATE ---------------------------------------------------------------

export interface Attr {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
  /** The Attribute Length written; the value's own length when absent. */
  readonly claimedLength?: number;
}

/** Flags, type, a 1-octet length (2 with the Extended Length bit), then the value. */
export function encodeAttr(a: Attr): Uint8Array {
  const len = a.claimedLength ?? a.value.length;
  const head =
    a.flags & Flag.extended
      ? Uint8Array.of(a.flags, a.type, (len >> 8) & 0xff, len & 0xff)
      : Uint8Array.of(a.flags, a.type, len & 0xff);
  return concat([head, a.value]);
}

export interface UpdateParts {
  /** The Withdrawn Routes field (encoded prefixes). */
  readonly withdrawn: Uint8Array;
  readonly attrs: readonly Attr[];
  /** The NLRI field (encoded prefixes). */
  readonly nlri: Uint8Array;
  /** The Withdrawn Routes Length written, when it is to disagree with the field. */
  readonly withdrawnLength?: number;
  /** The Total Path Attribute Length written, when it is to disagree with the attributes. */
  readonly attrsLength?: number;
}

export function updateBody(u: UpdateParts): Uint8Array {
  const attrs = concat(u.attrs.map(encodeAttr));
  return concat([
    u16(u.withdrawnLength ?? u.withdrawn.length),
    u.withdrawn,
    u16(u.attrsLength ?? attrs.length),
    attrs,
    u.nlri,
  ]);
}

// ---- OPEN ---------------------------------------------------------------------------------------

export interface Capability {
  readonly code: number;
  readonly value: Uint8Array;
  readonly claimedLength?: number;
}

export interface OptionalParameter {
  readonly type: number;
  readonly value: Uint8Array;
  readonly claimedLength?: number;
}

export interface OpenParts {
  readonly version: number;
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpId: Uint8Array;
  readonly params: readonly OptionalParameter[];
  /** The Optional Parameters Length written, when it is to disagree with the parameters. */
  readonly optLength?: number;
}

export function encodeCapabilities(caps: readonly Capability[]): Uint8Array {
  return concat(
    caps.map((c) => concat([Uint8Array.of(c.code, (c.claimedLength ?? c.value.length) & 0xff), c.value])),
  );
}

export function openBody(o: OpenParts): Uint8Array {
  const params = concat(
    o.params.map((p) => concat([Uint8Array.of(p.type, (p.claimedLength ?? p.value.length) & 0xff), p.value])),
  );
  return concat([
    Uint8Array.of(o.version & 0xff),
    u16(o.myAs & 0xffff),
    u16(o.holdTime & 0xffff),
    o.bgpId,
    Uint8Array.of((o.optLength ?? params.length) & 0xff),
    params,
  ]);
}

// ---- whole messages ----------------------------------------------------------------------------

export interface Framing {
  /** The Length field written, when it is to disagree with the bytes sent. */
  readonly length?: number;
  readonly type?: number;
  readonly marker?: Uint8Array;
}

/** Header and body; the body is sent as given, whatever the Length field says. */
export function frame(type: number, body: Uint8Array, f: Framing = {}): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  out.fill(0xff, 0, 16);
  if (f.marker !== undefined) out.set(f.marker.subarray(0, 16), 0);
  const len = f.length ?? HEADER_LENGTH + body.length;
  out[16] = (len >> 8) & 0xff;
  out[17] = len & 0xff;
  out[18] = f.type ?? type;
  out.set(body, HEADER_LENGTH);
  return out;
}

export function keepalive(): Uint8Array {
  return frame(MessageType.keepalive, new Uint8Array(0));
}

export function notification(
  code: number,
  subcode: number,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return frame(MessageType.notification, concat([Uint8Array.of(code, subcode), data]));
}

export interface Message {
  readonly type: number;
  readonly body: Uint8Array;
}

/**
 * Splits what the speaker sends into messages. The speaker must send well-formed headers, so a
 * bad marker or length is thrown as an error (the fuzzer reports it).
 */
export class Framer {
  #pending: Buffer = Buffer.alloc(0);

  push(data: Buffer): Message[] {
    this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    const out: Message[] = [];
    let at = 0;
    while (this.#pending.length - at >= HEADER_LENGTH) {
      for (let k = 0; k < 16; k++) {
        if (this.#pending[at + k] !== 0xff)
          throw new Error('the speaker sent a header whose marker is not all ones');
      }
      const len = this.#pending.readUInt16BE(at + 16);
      if (len < HEADER_LENGTH || len > 65535) throw new Error(`the speaker sent a message length of ${len}`);
      if (this.#pending.length - at < len) break;
      out.push({
        type: this.#pending[at + 18] as number,
        body: new Uint8Array(this.#pending.subarray(at + HEADER_LENGTH, at + len)),
      });
      at += len;
    }
    this.#pending = this.#pending.subarray(at);
    return out;
  }
}
