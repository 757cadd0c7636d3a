// The fuzzer's side of a BGP connection: a raw TCP socket, the messages it is given written as
// they are, and every message the speaker sends framed and recorded (its OPEN, KEEPALIVEs,
// UPDATEs, the NOTIFICATION that ends a session).
import { connect, type Socket } from 'node:net';
import { Framer, frame, keepalive, MessageType, readU16, toHex } from './bytes.ts';

export interface ReceivedNotification {
  readonly code: number;
  readonly subcode: number;
  readonly data: string;
}

export class BgpConnection {
  readonly #socket: Socket;
  readonly #framer = new Framer();
  readonly #waiters = new Set<() => void>();
  #keepaliveTimer: NodeJS.Timeout | undefined;
  /** The speaker's OPEN, body only. */
  open: Uint8Array | undefined;
  keepalives = 0;
  notification: ReceivedNotification | undefined;
  closed = false;
  /** A header from the speaker that is not BGP (marker or length). */
  framingError: string | undefined;
  messagesSent = 0;
  onUpdate: ((body: Uint8Array) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let messages: ReturnType<Framer['push']>;
      try {
        messages = this.#framer.push(chunk);
      } catch (err) {
        this.framingError = (err as Error).message;
        socket.destroy();
        return;
      }
      for (const m of messages) {
        if (m.type === MessageType.open) this.open = m.body;
        else if (m.type === MessageType.keepalive) this.keepalives++;
        else if (m.type === MessageType.notification) {
          this.notification ??= {
            code: m.body[0] ?? 0,
            subcode: m.body[1] ?? 0,
            data: toHex(m.body.subarray(2)),
          };
        } else if (m.type === MessageType.update) this.onUpdate?.(m.body);
      }
      this.#wake();
    });
    // A reset from the speaker after its NOTIFICATION, or writes after it closed: both expected.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      clearInterval(this.#keepaliveTimer);
      this.#wake();
    });
  }

  /** A TCP connection from `localAddress` to the speaker, retried while it is refused. */
  static async connect(o: {
    host: string;
    port: number;
    localAddress: string;
    timeoutMs: number;
  }): Promise<BgpConnection> {
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const socket = connect({ host: o.host, port: o.port, localAddress: o.localAddress });
      const err = await new Promise<Error | undefined>((resolve) => {
        socket.once('connect', () => resolve(undefined));
        socket.once('error', (e) => resolve(e));
      });
      if (err === undefined) return new BgpConnection(socket);
      socket.destroy();
      if (Date.now() > deadline)
        throw new Error(`cannot connect to ${o.host}:${o.port} from ${o.localAddress}: ${err.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.messagesSent++;
    this.#socket.write(bytes);
  }

  /** Resolves true once `done()` holds (checked at every message and at close), false after `timeoutMs`. */
  waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Keeps the session alive from our side (RFC 4271 §4.4). */
  startKeepalives(intervalMs: number): void {
    clearInterval(this.#keepaliveTimer);
    this.#keepaliveTimer = setInterval(() => this.send(keepalive()), intervalMs);
    this.#keepaliveTimer.unref();
  }

  /** Sends Cease (RFC 4486 subcode 2, Administrative Shutdown) and closes. */
  cease(): void {
    this.send(frame(MessageType.notification, Uint8Array.of(6, 2)));
    this.#socket.end();
  }

  destroy(): void {
    clearInterval(this.#keepaliveTimer);
    this.#socket.destroy();
  }

  /** Hold Time of the speaker's OPEN. */
  get peerHoldTime(): number {
    return this.open === undefined ? 0 : readU16(this.open, 3);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
