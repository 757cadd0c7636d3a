// One TCP connection carrying BGP: framing and decoding on input, counters, and output with
// backpressure (written only while the socket can take it).
//
// Input: every received chunk goes through a FrameReader (header checked before the body is
// buffered, so a bad length never makes us buffer anything) and each complete frame is decoded with
// the codec options in force and handed to the owner synchronously, in order. The owner may switch
// the codec options (after the OPEN exchange, RFC 8654 raises the frame limit to 65535) between two
// frames of the same chunk: the next frame is decoded with the new options.
//
// Input is handled in slices of at most INPUT_SLICE_MS of work. A full table arrives faster than it
// can be applied, and libuv hands a readable socket up to 32 reads of 64 KiB in one callback:
// applied in one go, that is hundreds of thousands of prefixes, long enough to make keepalives late
// and leave the REST API unanswered. When a slice is used up, the socket is paused and the rest of
// the buffered frames continues on `setImmediate`, after timers and other I/O had their turn; the
// socket resumes once the reader is drained. Nothing else is queued in userland (at most the chunks
// already read when the slice ended), so a slow RIB still slows the sender down through TCP flow
// control.
//
// A slice is a stretch of the event loop, not a call: libuv delivers those 32 reads as 32 'data'
// events in one go, and when each chunk takes less than a slice to apply, a per-call deadline never
// expires and the 32 run back to back, a stall as long as the unsliced one. So the first drain of a
// turn opens the slice and every drain until the next check phase spends from it; an immediate ends
// the slice there and, when input is left, queues the continuation for the next turn (queued from
// the check phase, it cannot run in this one): one slice of input work per turn of the event loop.
//
// Output: `write(frame)` hands an UPDATE to the socket and says whether more can be written;
// when it returns false the caller waits for `onDrain`. Control frames (OPEN, KEEPALIVE,
// NOTIFICATION, ROUTE-REFRESH) go through `writeControl`, which ignores backpressure: they are
// small and must never wait behind UPDATEs in a queue of ours (there is none).
//
// Closing: `close()` flushes what was written, sends FIN and keeps reading (and discarding)
// until the peer closes or CLOSE_LINGER_MS passes. Destroying a socket that still has unread
// input makes Linux send RST and drop our unsent data — the NOTIFICATION just written would be
// lost, and the peer would report "connection reset" instead of our Cease.
import type { Socket } from 'node:net';
import { WireError } from '../errors.ts';
import {
  type BgpMessage,
  type CodecOptions,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  FrameReader,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
} from '../wire/index.ts';
import { canonicalAddress } from './address.ts';

/** How long a closing connection waits for the peer's FIN before it is destroyed. */
export const CLOSE_LINGER_MS = 2_000;

/**
 * The longest run of input handling before the event loop gets a turn (see the file header). Small
 * against the event-loop delay a keepalive can tolerate, large against what applying one
 * 4096-octet UPDATE costs, so the turns given up cost little beside the work between them.
 */
export const INPUT_SLICE_MS = 5;

export type ConnectionDirection = 'incoming' | 'outgoing';

export interface ConnectionHandlers {
  /** A decoded message; `frame` is a transient view of the received bytes. */
  readonly onMessage: (message: BgpMessage, frame: Uint8Array) => void;
  /** The byte stream or a message is malformed (RFC 4271 §6); the NOTIFICATION is in the error. */
  readonly onWireError: (error: WireError) => void;
  /** The connection is gone (peer closed, reset, error). Not called after our own `close()`. */
  readonly onClosed: (detail: string | undefined) => void;
  /** The socket accepted everything written: UPDATEs may be written again. */
  readonly onDrain: () => void;
  /** A handler threw something that is not a WireError (a bug): the connection is closed. */
  readonly onInternalError: (error: unknown) => void;
}

export interface MessageCounters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
}

export class Connection {
  readonly socket: Socket;
  readonly direction: ConnectionDirection;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly counters: MessageCounters;
  readonly #handlers: ConnectionHandlers;
  readonly #reader = new FrameReader(MAX_MESSAGE_LENGTH);
  #codec: CodecOptions = DEFAULT_CODEC_OPTIONS;
  #isClosing = false;
  #isClosed = false;
  /** A slice ran out: the socket is paused and `#drain` continues on setImmediate. */
  #isYielding = false;
  /** When the open input slice ends (on `#now`); 0 while none is open. */
  #sliceEnd = 0;
  /** The clock input slices are measured on, ms. */
  readonly #now: () => number;
  #detail: string | undefined;
  readonly #closed: Promise<void>;

  constructor(
    socket: Socket,
    direction: ConnectionDirection,
    handlers: ConnectionHandlers,
    counters: MessageCounters,
    now: () => number = () => performance.now(),
  ) {
    this.#now = now;
    this.socket = socket;
    this.direction = direction;
    this.#handlers = handlers;
    this.counters = counters;
    this.localAddress = canonicalAddress(socket.localAddress ?? '');
    this.remoteAddress = canonicalAddress(socket.remoteAddress ?? '');
    socket.setNoDelay(true);
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      if (!this.#isClosing) this.#handlers.onDrain();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#detail ??= err.code ?? err.message;
    });
    socket.on('end', () => {
      // The peer closed its side. While closing ourselves this is the answer we waited for.
      if (this.#isClosing) socket.destroy();
      else this.#detail ??= 'closed by peer';
    });
    socket.once('close', () => {
      this.#isClosed = true;
      if (!this.#isClosing) {
        this.#isClosing = true;
        this.#handlers.onClosed(this.#detail);
      }
    });
  }

  /** True once `close()` was called or the socket closed: no more messages are delivered. */
  get isClosing(): boolean {
    return this.#isClosing;
  }

  /** True when UPDATEs may be written now (the socket buffer is below its high-water mark). */
  get canWrite(): boolean {
    return !this.#isClosing && !this.socket.writableNeedDrain;
  }

  /** Resolves when the socket is fully closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Codec options agreed by the OPEN exchange (RFC 8654: larger frames from now on). */
  setCodec(codec: CodecOptions): void {
    this.#codec = codec;
    this.#reader.setMaxLength(codec.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH);
  }

  get codec(): CodecOptions {
    return this.#codec;
  }

  /** Writes an UPDATE; false when the caller must wait for `onDrain` before writing more. */
  write(frame: Uint8Array): boolean {
    if (this.#isClosing) return false;
    this.counters.messagesOut++;
    this.counters.updatesOut++;
    return this.socket.write(frame);
  }

  /** Writes a small control message at once, whatever the backpressure. */
  writeControl(frame: Uint8Array): void {
    if (this.#isClosing) return;
    this.counters.messagesOut++;
    if (frame[18] === MessageType.update) this.counters.updatesOut++;
    this.socket.write(frame);
  }

  /** Groups the writes of one synchronous burst into one writev (undone by `uncork`). */
  cork(): void {
    if (!this.#isClosing) this.socket.cork();
  }

  uncork(): void {
    if (this.socket.writableCorked > 0) this.socket.uncork();
  }

  /** Flushes what was written, sends FIN and stops delivering input (see the file header). */
  close(): Promise<void> {
    if (this.#isClosing) return this.#closed;
    this.#isClosing = true;
    const socket = this.socket;
    this.uncork();
    if (this.#isClosed || socket.destroyed) return this.#closed;
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    return this.#closed;
  }

  /** Drops the connection at once (no flush): for a connection that never carried BGP. */
  destroy(): void {
    this.#isClosing = true;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#isClosing) return;
    try {
      this.#reader.push(chunk);
    } catch (err) {
      this.#fail(err);
      return;
    }
    // While yielding, the continuation drains what arrives in the meantime.
    if (!this.#isYielding) this.#drain();
  }

  /** Handles buffered frames until none is left or the slice is used up (see the file header). */
  #drain(): void {
    if (this.#sliceEnd === 0) {
      this.#sliceEnd = this.#now() + INPUT_SLICE_MS;
      setImmediate(this.#endSlice);
    }
    const deadline = this.#sliceEnd;
    try {
      for (;;) {
        if (this.#isClosing) return;
        const frame = this.#reader.next();
        if (frame === null) break;
        const message = decodeMessage(frame, this.#codec);
        this.counters.messagesIn++;
        if (message.type === 'update') this.counters.updatesIn++;
        this.#handlers.onMessage(message, frame);
        if (this.#now() >= deadline && !this.#isClosing) {
          // The slice's end queues the continuation (`#endSlice`).
          if (!this.#isYielding) {
            this.#isYielding = true;
            this.socket.pause();
          }
          return;
        }
      }
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.#isYielding) {
      this.#isYielding = false;
      if (!this.#isClosing) this.socket.resume();
    }
  }

  /** Ends the input slice at the check phase; input left continues next turn (file header). */
  readonly #endSlice = (): void => {
    this.#sliceEnd = 0;
    if (this.#isYielding && !this.#isClosing) setImmediate(() => this.#drain());
  };

  #fail(err: unknown): void {
    if (this.#isClosing) return;
    if (err instanceof WireError) this.#handlers.onWireError(err);
    else this.#handlers.onInternalError(err);
  }
}
