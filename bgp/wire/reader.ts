// Bounded reading of wire fields.
//
// Every length-delimited field is read through a `Reader` over (buf, start, end). A read that
// would pass `end` throws a WireError carrying the NOTIFICATION code/subcode the caller chose
// for that field, so a decode can fail only with a WireError, never with a RangeError or by
// silently reading the next field (the failure mode GoBGP's TestUpdateWithdrawnRouteUnderflow
// guards against). Views returned by `bytes()` are subarrays of the received frame: transient.

import { WireError } from '../errors.ts';

export class Reader {
  readonly buf: Uint8Array;
  /** Offset of the next unread byte; hot loops (NLRI) read `buf` directly and advance it. */
  pos: number;
  readonly end: number;
  readonly code: number;
  readonly subcode: number;

  constructor(buf: Uint8Array, start: number, end: number, code: number, subcode: number) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.code = code;
    this.subcode = subcode;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws the field's WireError unless `n` more bytes are available. */
  need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new WireError(
        this.code,
        this.subcode,
        `${what}: needs ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} left`,
      );
    }
  }

  u8(what = 'field'): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  u16(what = 'field'): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  u32(what = 'field'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (
      (b[p] as number) * 0x1000000 +
      (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
    );
  }

  /** A transient view of the next `n` bytes. */
  bytes(n: number, what = 'field'): Uint8Array {
    this.need(n, what);
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  skip(n: number, what = 'field'): void {
    this.need(n, what);
    this.pos += n;
  }

  /**
   * A reader over the next `n` bytes (which must exist, else this reader's error), whose own
   * overruns raise `code`/`subcode` (default: this reader's).
   */
  sub(n: number, what: string, code = this.code, subcode = this.subcode): Reader {
    this.need(n, what);
    const start = this.pos;
    this.pos = start + n;
    return new Reader(this.buf, start, start + n, code, subcode);
  }
}
