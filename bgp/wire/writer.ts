// Encoding into a preallocated buffer, never mutating the input (BIRD `bgp_encode_attrs` writes
// into a fixed buffer and fails when it is full). Length fields are reserved with `reserve16` and
// patched once their content is written. A write past the capacity throws BGP_ERR_ENCODE: the
// encoders check room first where running out is expected (UpdateWriter.addPrefix).

import { BgpError } from '../errors.ts';

export class ByteWriter {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  room(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new BgpError(
        'BGP_ERR_ENCODE',
        `${what}: ${n} more bytes do not fit (${this.pos} of ${this.buf.length} used)`,
      );
    }
  }

  u8(v: number): void {
    this.room(1, 'u8');
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2, 'u16');
    const b = this.buf;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }

  u32(v: number): void {
    this.room(4, 'u32');
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = v >>> 16;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }

  bytes(v: Uint8Array, what = 'bytes'): void {
    this.room(v.length, what);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Reserves a 2-octet length field and returns its offset for `patch16`. */
  reserve16(): number {
    this.room(2, 'length field');
    const at = this.pos;
    this.pos += 2;
    return at;
  }

  patch16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  /** A fresh copy of what was written. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Checks that an integer fits an unsigned field of `bits` bits (encode-side validation). */
export function checkUint(v: number, bits: 8 | 16 | 32, what: string): number {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new BgpError('BGP_ERR_ENCODE', `${what} ${v} does not fit in ${bits} bits`);
  }
  return v;
}
