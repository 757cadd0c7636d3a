// Splitting a TCP byte stream into BGP messages, without sockets (the session feeds it).
//
// Intent: cheap on a 1M-prefix feed and safe against a hostile peer.
// - Received chunks are kept in a list, never concatenated (concatenating every chunk onto a
//   growing buffer is O(n²) over a full table). A frame that lies inside one chunk is returned
//   as a subarray of it (zero copy); only a frame that straddles chunks is copied.
// - The header is checked by `readHeader` as soon as its 19 bytes are there, before the body is
//   waited for: a bad marker, length or type fails at once, and no more than one maximum-length
//   message is ever waited for.
// - Frames are views of the pushed chunks: they stay valid as long as the caller does not
//   reuse a chunk's memory after pushing it (Node's socket 'data' buffers are never reused).
//   Decoded values that outlive the frame are copied by the decoders or by the RIB.
// - After a WireError the stream has no reliable message boundary any more: the reader keeps
//   throwing the same error; the session sends the NOTIFICATION and closes.

import type { WireError } from '../errors.ts';
import { readHeader } from './header.ts';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './types.ts';

export class FrameReader {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private headOff = 0;
  private buffered = 0;
  /** Length of the validated header at the front, or -1 when not yet validated. */
  private pending = -1;
  private maxLength: number;
  private failure: WireError | undefined;
  private readonly scratch = new Uint8Array(HEADER_LENGTH);

  constructor(maxLength: number = MAX_MESSAGE_LENGTH) {
    this.maxLength = maxLength;
  }

  /** RFC 8654: raise the limit to 65535 once both OPENs carried Extended Message. */
  setMaxLength(n: number): void {
    this.maxLength = n;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds received bytes; throws WireError when they complete a bad header. */
  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.checkHeader();
  }

  /** The next complete message (header included), or null until more bytes arrive. */
  next(): Uint8Array | null {
    if (this.failure) throw this.failure;
    this.checkHeader();
    const length = this.pending;
    if (length === -1 || this.buffered < length) return null;
    const first = this.chunks[this.head] as Uint8Array;
    let frame: Uint8Array;
    if (first.length - this.headOff >= length) {
      frame = first.subarray(this.headOff, this.headOff + length);
      this.headOff += length;
      if (this.headOff === first.length) this.dropHead();
    } else {
      frame = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const c = this.chunks[this.head] as Uint8Array;
        const take = Math.min(c.length - this.headOff, length - filled);
        frame.set(c.subarray(this.headOff, this.headOff + take), filled);
        filled += take;
        this.headOff += take;
        if (this.headOff === c.length) this.dropHead();
      }
    }
    this.buffered -= length;
    this.pending = -1;
    return frame;
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY;
    this.head++;
    this.headOff = 0;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      // Amortised O(1): the consumed prefix of the list is dropped in one go.
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  private checkHeader(): void {
    if (this.pending !== -1 || this.buffered < HEADER_LENGTH) return;
    try {
      const first = this.chunks[this.head] as Uint8Array;
      if (first.length - this.headOff >= HEADER_LENGTH) {
        this.pending = readHeader(first, this.headOff, this.maxLength).length;
        return;
      }
      let filled = 0;
      for (let i = this.head; filled < HEADER_LENGTH; i++) {
        const c = this.chunks[i] as Uint8Array;
        const from = i === this.head ? this.headOff : 0;
        const take = Math.min(c.length - from, HEADER_LENGTH - filled);
        this.scratch.set(c.subarray(from, from + take), filled);
        filled += take;
      }
      this.pending = readHeader(this.scratch, 0, this.maxLength).length;
    } catch (err) {
      this.failure = err as WireError;
      throw err;
    }
  }
}

const EMPTY = new Uint8Array(0);
