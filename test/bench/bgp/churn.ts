// The soak benchmark's churning peer: a raw BGP speaker that, on command, opens a session, sends
// a pre-encoded feed of N routes and End-of-RIB, and on the next command drops the session again,
// either with a Cease NOTIFICATION (RFC 4486 subcode 2, administrative shutdown) or with a plain
// TCP close and no NOTIFICATION. The bench decides when a cycle's routes are accepted (it asks the
// receiver), so the peer only does the wire work.
//
// Run inside the sender namespace:
//   node test/bench/bgp/churn.ts --n 1000 --local 192.0.2.1 --peer 192.0.2.2
// Commands, one JSON line each on stdin: {"op":"up"} and {"op":"drop","how":"cease"|"close"}.
// Answers, one JSON line each on stdout: {"event":"ready"} once the feed is encoded, then per
// command {"event":"sent",...} / {"event":"dropped",...} or {"event":"error","message":...}.
// It exits when stdin closes.

import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  decodeOpen,
  encodeEndOfRib,
  encodeFeed,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  MessageFramer,
  MessageType,
} from './encode.ts';
import { SENDER_ASN } from './feed.ts';

export type ChurnCommand = { readonly op: 'up' } | { readonly op: 'drop'; readonly how: 'cease' | 'close' };

export type ChurnEvent =
  | { readonly event: 'ready'; readonly updates: number }
  | { readonly event: 'sent'; readonly ms: number }
  | { readonly event: 'dropped'; readonly ms: number }
  | { readonly event: 'error'; readonly message: string };

interface Options {
  readonly n: number;
  readonly localAddress: string;
  readonly peerAddress: string;
  readonly asn: number;
  readonly holdTime: number;
  readonly connectTimeoutMs: number;
}

/** One session: connected, OPEN exchanged, Established as the sender sees it. */
class Session {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  failure: Error | undefined;
  #keepalive: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => clearInterval(this.#keepalive));
    socket.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Sends OPEN; resolves when the peer's KEEPALIVE follows its OPEN (RFC 4271 section 8.2.2). */
  async establish(opts: Options): Promise<void> {
    const s = this.socket;
    const framer = new MessageFramer();
    let peerOpened = false;
    let established!: () => void;
    const isEstablished = new Promise<void>((resolve) => {
      established = resolve;
    });
    s.on('data', (data: Buffer) => {
      let messages: ReturnType<MessageFramer['push']>;
      try {
        messages = framer.push(data);
      } catch (err) {
        this.failure ??= err as Error;
        s.destroy();
        return;
      }
      for (const m of messages) {
        if (m.type === MessageType.open && !peerOpened) {
          const open = decodeOpen(m.body);
          if (!open.capabilities.includes(65)) {
            this.failure ??= new Error('peer does not support 4-octet AS numbers; the feed needs them');
            s.destroy();
            return;
          }
          peerOpened = true;
          s.write(encodeKeepalive());
          // RFC 4271 section 4.4: keepalive at a third of the negotiated hold time.
          const hold = Math.min(opts.holdTime, open.holdTime);
          if (hold > 0) {
            this.#keepalive = setInterval(() => s.write(encodeKeepalive()), (hold * 1000) / 3);
            this.#keepalive.unref();
          }
        } else if (m.type === MessageType.keepalive && peerOpened) {
          established();
        } else if (m.type === MessageType.notification) {
          this.failure ??= new Error(`peer sent NOTIFICATION ${m.body[0]}/${m.body[1]}`);
        }
      }
    });
    s.write(encodeOpen({ asn: opts.asn, holdTime: opts.holdTime, routerId: opts.localAddress }));
    await Promise.race([isEstablished, this.closed]);
    if (this.failure || s.destroyed) throw this.failure ?? new Error('session closed before Established');
  }
}

async function connectWithRetry(opts: Options): Promise<net.Socket> {
  const deadline = Date.now() + opts.connectTimeoutMs;
  for (;;) {
    const socket = net.connect({ host: opts.peerAddress, port: 179, localAddress: opts.localAddress });
    socket.setNoDelay(true);
    try {
      await once(socket, 'connect');
      return socket;
    } catch (err) {
      socket.destroy();
      const code = (err as NodeJS.ErrnoException).code;
      const retriable = code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH';
      if (!retriable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '1000' },
      local: { type: 'string', default: '192.0.2.1' },
      peer: { type: 'string', default: '192.0.2.2' },
      asn: { type: 'string', default: String(SENDER_ASN) },
      'hold-time': { type: 'string', default: '90' },
      'connect-timeout-ms': { type: 'string', default: '15000' },
    },
  });
  const opts: Options = {
    n: Number(values.n),
    localAddress: values.local,
    peerAddress: values.peer,
    asn: Number(values.asn),
    holdTime: Number(values['hold-time']),
    connectTimeoutMs: Number(values['connect-timeout-ms']),
  };
  const emit = (e: ChurnEvent): void => {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  };
  // Many prefixes per attribute set, so the feed packs into few full UPDATEs as a real table does.
  const feed = encodeFeed({
    n: opts.n,
    attrSets: Math.max(1, Math.ceil(opts.n / 250)),
    nextHop: opts.localAddress,
  });
  let session: Session | undefined;

  const up = async (): Promise<ChurnEvent> => {
    if (session && !session.socket.destroyed) throw new Error('a session is already up');
    const t0 = performance.now();
    session = new Session(await connectWithRetry(opts));
    const s = session;
    await s.establish(opts);
    for (const chunk of feed.chunks) {
      if (s.socket.destroyed) break;
      if (!s.socket.write(chunk)) await Promise.race([once(s.socket, 'drain'), s.closed]);
    }
    if (s.socket.destroyed) throw s.failure ?? new Error('session closed while sending');
    s.socket.write(encodeEndOfRib());
    return { event: 'sent', ms: Math.round(performance.now() - t0) };
  };

  const drop = async (how: 'cease' | 'close'): Promise<ChurnEvent> => {
    const s = session;
    session = undefined;
    if (!s || s.socket.destroyed) throw new Error(`no session to drop: ${s?.failure?.message ?? 'none'}`);
    const t0 = performance.now();
    if (how === 'cease') s.socket.end(encodeNotification(6, 2));
    else s.socket.end();
    // The peer closes its side on our FIN; a peer that does not is reset after a grace period.
    const timer = setTimeout(() => s.socket.destroy(), 2000);
    await s.closed;
    clearTimeout(timer);
    return { event: 'dropped', ms: Math.round(performance.now() - t0) };
  };

  // Commands run one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(async () => {
      try {
        const cmd = JSON.parse(line) as ChurnCommand;
        emit(cmd.op === 'up' ? await up() : await drop(cmd.how));
      } catch (err) {
        session?.socket.destroy();
        session = undefined;
        emit({ event: 'error', message: err instanceof Error ? err.message : String(err) });
      }
    });
  });
  rl.on('close', () => {
    session?.socket.destroy();
    process.exit(0);
  });
  process.on('SIGTERM', () => {
    session?.socket.destroy();
    process.exit(0);
  });
  emit({ event: 'ready', updates: feed.updates });
}

if (import.meta.main) main();
