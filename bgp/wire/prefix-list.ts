// A list of prefixes of one family, packed: the form NLRI take between the codec, the RIB and
// the UPDATE packer.
//
// Intent: a full table is 1M prefixes, and building a string per prefix (then hashing it in a Map)
// would dominate the ingest time. Here a prefix is its address as 32-bit words (one for IPv4, four
// for IPv6, most significant first) plus its length; the RIB hashes those words directly
// (bgp/rib/prefix-table.ts) and the packer writes them back as bytes. Text is built only when
// somebody reads it: the REST API, events, tests.
// Decisions:
// - Addresses are stored with host bits cleared (the decoder masks, `parse` refuses them), so
//   equal prefixes have equal words.
// - The list only grows (a decoder or a batch fills it, readers read it); `at(i)` formats one
//   prefix, `toArray()` all of them.

import { BgpError } from '../errors.ts';
import { formatIpv6, parsePrefix } from './prefix.ts';
import { Afi, type AfiCode } from './types.ts';

/** Address words per prefix: 1 for IPv4, 4 for IPv6. */
export type PrefixWidth = 1 | 4;

export function widthOf(afi: AfiCode): PrefixWidth {
  return afi === Afi.ipv4 ? 1 : 4;
}

// IPv4 text is written as ASCII into this scratch buffer and read back with one latin1 slice:
// a flat one-byte string (a template literal builds a tree of partial strings instead).
const text = Buffer.alloc(24);

function putDecimal(v: number, at: number): number {
  if (v >= 100) {
    const h = (v / 100) | 0;
    text[at++] = 48 + h;
    v -= h * 100;
    text[at++] = 48 + ((v / 10) | 0);
  } else if (v >= 10) {
    text[at++] = 48 + ((v / 10) | 0);
  }
  text[at++] = 48 + (v % 10);
  return at;
}

/** "a.b.c.d/len" of an IPv4 address word. */
export function formatIpv4Prefix(addr: number, len: number): string {
  let at = putDecimal(addr >>> 24, 0);
  text[at++] = 46; // '.'
  at = putDecimal((addr >>> 16) & 0xff, at);
  text[at++] = 46;
  at = putDecimal((addr >>> 8) & 0xff, at);
  text[at++] = 46;
  at = putDecimal(addr & 0xff, at);
  text[at++] = 47; // '/'
  at = putDecimal(len, at);
  return text.toString('latin1', 0, at);
}

const v6 = new Uint8Array(16);

/** The 16 bytes of the IPv6 address whose four words start at `words[at]`. */
export function ipv6Bytes(words: ArrayLike<number>, at: number, out: Uint8Array = v6): Uint8Array {
  for (let i = 0; i < 4; i++) {
    const w = words[at + i] as number;
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = (w >>> 16) & 0xff;
    out[i * 4 + 2] = (w >>> 8) & 0xff;
    out[i * 4 + 3] = w & 0xff;
  }
  return out;
}

/** RFC 5952 text of the IPv6 prefix whose four words start at `words[at]`. */
export function formatIpv6Prefix(words: ArrayLike<number>, at: number, len: number): string {
  return `${formatIpv6(ipv6Bytes(words, at), 0)}/${len}`;
}

/** The canonical text of a packed prefix of `width` words at `words[at]`. */
export function formatPrefix(width: PrefixWidth, words: ArrayLike<number>, at: number, len: number): string {
  return width === 1 ? formatIpv4Prefix(words[at] as number, len) : formatIpv6Prefix(words, at, len);
}

// A list's two arrays come from a shared slab when they are small, as Node's Buffer pool does for
// small Buffers: an ArrayBuffer of its own costs a malloc, external-memory accounting and the
// collector's sweeping, several times what carving from a slab costs, and a table dump decodes one
// list per UPDATE. Carved space is never reused, so it is zero like a new array's. A slab lives
// while any list carved from it does: a list kept for long keeps at most SLAB_BYTES.
const SLAB_BYTES = 16 * 1024;
/** Larger lists get arrays of their own (a full 4096-octet UPDATE of /32s needs ~5 KiB). */
const MAX_CARVED_BYTES = 2048;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

const NO_WORDS = new Uint32Array(0);
const NO_LENS = new Uint8Array(0);

/** Zeroed address words and lengths for `n` prefixes of `width` words. */
function listArrays(n: number, width: PrefixWidth): [Uint32Array, Uint8Array] {
  // An empty list (most UPDATEs withdraw nothing) gets arrays when its first prefix comes.
  if (n === 0) return [NO_WORDS, NO_LENS];
  const wordBytes = n * width * 4;
  // The lengths are padded so that the next list's words stay 4-byte aligned.
  const bytes = wordBytes + ((n + 3) & ~3);
  if (bytes > MAX_CARVED_BYTES) return [new Uint32Array(n * width), new Uint8Array(n)];
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += bytes;
  return [new Uint32Array(slab, at, n * width), new Uint8Array(slab, at + wordBytes, n)];
}

export class PrefixList implements Iterable<string> {
  readonly afi: AfiCode;
  readonly width: PrefixWidth;
  #words: Uint32Array;
  #lens: Uint8Array;
  #length = 0;

  constructor(afi: AfiCode, capacity = 8) {
    this.afi = afi;
    this.width = widthOf(afi);
    [this.#words, this.#lens] = listArrays(Math.max(0, capacity), this.width);
  }

  /**
   * Parses prefix texts (canonical or not) into a list of `afi`. Throws BGP_ERR_INVALID_CONFIG
   * naming the first bad text, including one of the other family.
   */
  static parse(afi: AfiCode, texts: Iterable<string>): PrefixList {
    const list = new PrefixList(afi);
    for (const t of texts) list.pushText(t);
    return list;
  }

  /** Prefixes in the list. */
  get length(): number {
    return this.#length;
  }

  /** The address words: prefix i starts at `i * width`. Only the first `length` are valid. */
  get words(): Uint32Array {
    return this.#words;
  }

  /** The prefix lengths, parallel to the addresses. */
  get lens(): Uint8Array {
    return this.#lens;
  }

  /** Appends the prefix whose `width` address words start at `words[at]`; host bits must be clear. */
  push(words: ArrayLike<number>, at: number, len: number): void {
    const i = this.#grow();
    const w = this.width;
    if (w === 1) {
      this.#words[i] = words[at] as number;
    } else {
      const o = i * 4;
      this.#words[o] = words[at] as number;
      this.#words[o + 1] = words[at + 1] as number;
      this.#words[o + 2] = words[at + 2] as number;
      this.#words[o + 3] = words[at + 3] as number;
    }
    this.#lens[i] = len;
  }

  /** Appends an IPv4 prefix (IPv4 lists only); host bits must be clear. */
  pushIpv4(addr: number, len: number): void {
    const i = this.#grow();
    this.#words[i] = addr;
    this.#lens[i] = len;
  }

  /** Parses and appends one prefix text. Throws BGP_ERR_INVALID_CONFIG. */
  pushText(prefix: string): void {
    const p = parsePrefix(prefix);
    if (p.afi !== this.afi) {
      throw new BgpError(
        'BGP_ERR_INVALID_CONFIG',
        `prefix ${prefix} is not ${this.afi === Afi.ipv4 ? 'IPv4' : 'IPv6'}`,
      );
    }
    const b = p.bytes;
    const words = [0, 0, 0, 0];
    for (let i = 0; i < b.length; i++) {
      const k = i >> 2;
      words[k] = ((words[k] as number) * 256 + (b[i] as number)) >>> 0;
    }
    this.push(words, 0, p.length);
  }

  lenAt(i: number): number {
    return this.#lens[i] as number;
  }

  /** The canonical text of prefix i. */
  at(i: number): string {
    return formatPrefix(this.width, this.#words, i * this.width, this.#lens[i] as number);
  }

  toArray(): string[] {
    const out = new Array<string>(this.#length);
    for (let i = 0; i < this.#length; i++) out[i] = this.at(i);
    return out;
  }

  *[Symbol.iterator](): Iterator<string> {
    for (let i = 0; i < this.#length; i++) yield this.at(i);
  }

  /** Shows as its texts in test diffs and JSON. */
  toJSON(): string[] {
    return this.toArray();
  }

  /** Reserves one more slot; returns its index. */
  #grow(): number {
    const i = this.#length;
    if (i === this.#lens.length) {
      const [words, lens] = listArrays(Math.max(8, i * 2), this.width);
      lens.set(this.#lens);
      words.set(this.#words);
      this.#lens = lens;
      this.#words = words;
    }
    this.#length = i + 1;
    return i;
  }
}
