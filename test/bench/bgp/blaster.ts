// The ingest benchmark's sender: a BGP speaker that can do exactly one thing — push a pre-encoded feed
// into one peer as fast as the socket takes it — so that the receiver, never the sender, is measured.
// BIRD as a sender holds back the tail of the table and `gobgp mrt inject` drops paths, so the sender
// is our own.
//
// Run inside the sender namespace:
//   node test/bench/bgp/blaster.ts --n 1000000 --attr-sets 1000 --local 192.0.2.1 --peer 192.0.2.2
// It prints one JSON line per event on stdout (`encoded`, `connected`, `established`, `sent`, `error`,
// `closed`); times are process.hrtime (CLOCK_MONOTONIC) in nanoseconds, comparable across processes.
// After End-of-RIB it keeps the session up (answering keepalives) until stdin closes or SIGTERM, then
// sends a Cease NOTIFICATION (RFC 4486 subcode 2, administrative shutdown) and exits.

import { once } from 'node:events';
import net from 'node:net';
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

export interface BlasterOptions {
  readonly n: number;
  readonly attrSets: number;
  readonly localAddress: string;
  readonly peerAddress: string;
  readonly port: number;
  readonly asn: number;
  readonly holdTime: number;
  /** How long to keep retrying a refused connection. */
  readonly connectTimeoutMs: number;
}

export type BlasterEvent =
  | { readonly event: 'encoded'; readonly bytes: number; readonly updates: number; readonly encodeMs: number }
  | { readonly event: 'connected'; readonly t: string }
  | {
      readonly event: 'established';
      readonly t: string;
      readonly peerAsn: number;
      readonly peerRouterId: string;
      readonly holdTime: number;
    }
  | { readonly event: 'sent'; readonly t: string; readonly bytes: number; readonly updates: number }
  | { readonly event: 'error'; readonly message: string }
  | { readonly event: 'closed' };

export interface Blaster {
  /** Resolves when the session has ended, for whatever reason. */
  readonly done: Promise<void>;
  stop(): void;
}

const now = (): string => process.hrtime.bigint().toString();

async function connectWithRetry(opts: BlasterOptions, isStopped: () => boolean): Promise<net.Socket> {
  const deadline = Date.now() + opts.connectTimeoutMs;
  for (;;) {
    const socket = net.connect({ host: opts.peerAddress, port: opts.port, localAddress: opts.localAddress });
    socket.setNoDelay(true);
    try {
      await once(socket, 'connect');
      return socket;
    } catch (err) {
      socket.destroy();
      const code = (err as NodeJS.ErrnoException).code;
      const retriable = code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH';
      if (!retriable || isStopped() || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function startBlaster(opts: BlasterOptions, emit: (e: BlasterEvent) => void): Blaster {
  const t0 = performance.now();
  const feed = encodeFeed({ n: opts.n, attrSets: opts.attrSets, nextHop: opts.localAddress });
  emit({
    event: 'encoded',
    bytes: feed.bytes.length,
    updates: feed.updates,
    encodeMs: Math.round(performance.now() - t0),
  });

  let stopped = false;
  let socket: net.Socket | undefined;
  let keepaliveTimer: NodeJS.Timeout | undefined;

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (keepaliveTimer) clearInterval(keepaliveTimer);
    if (socket && !socket.destroyed) {
      socket.end(encodeNotification(6, 2));
      setTimeout(() => socket?.destroy(), 500).unref();
    }
  };

  const run = async (): Promise<void> => {
    socket = await connectWithRetry(opts, () => stopped);
    const s = socket;
    emit({ event: 'connected', t: now() });
    s.write(encodeOpen({ asn: opts.asn, holdTime: opts.holdTime, routerId: opts.localAddress }));

    const framer = new MessageFramer();
    let peerOpen: { asn: number; routerId: string; holdTime: number } | undefined;
    let established: (() => void) | undefined;
    const isEstablished = new Promise<void>((resolve) => {
      established = resolve;
    });
    let failure: Error | undefined;
    const closed = new Promise<void>((resolve) => {
      s.on('close', () => resolve());
    });
    s.on('error', (err) => {
      failure ??= err;
    });
    s.on('data', (data: Buffer) => {
      let messages: ReturnType<MessageFramer['push']>;
      try {
        messages = framer.push(data);
      } catch (err) {
        failure ??= err as Error;
        s.destroy();
        return;
      }
      for (const m of messages) {
        if (m.type === MessageType.open && !peerOpen) {
          const open = decodeOpen(m.body);
          if (!open.capabilities.includes(65)) {
            failure ??= new Error('peer does not support 4-octet AS numbers; the feed needs them');
            s.destroy();
            return;
          }
          s.write(encodeKeepalive());
          // RFC 4271 section 4.4: keepalive at a third of the negotiated hold time
          const hold = Math.min(opts.holdTime, open.holdTime);
          if (hold > 0) {
            keepaliveTimer = setInterval(() => s.write(encodeKeepalive()), (hold * 1000) / 3);
            keepaliveTimer.unref();
          }
          peerOpen = { asn: open.asn, routerId: open.routerId, holdTime: hold };
        } else if (m.type === MessageType.keepalive && peerOpen && established) {
          // The session is Established as seen by the sender: the peer's KEEPALIVE after its OPEN
          // (RFC 4271 section 8.2.2, OpenConfirm).
          emit({
            event: 'established',
            t: now(),
            peerAsn: peerOpen.asn,
            peerRouterId: peerOpen.routerId,
            holdTime: peerOpen.holdTime,
          });
          established();
          established = undefined;
        } else if (m.type === MessageType.notification) {
          failure ??= new Error(`peer sent NOTIFICATION ${m.body[0]}/${m.body[1]}`);
        }
      }
    });

    await Promise.race([isEstablished, closed]);
    if (failure || s.destroyed || stopped) {
      throw failure ?? new Error('session closed before Established');
    }
    // Write the whole feed, pausing whenever the socket's buffer is full (respect backpressure).
    for (const chunk of feed.chunks) {
      if (stopped || s.destroyed) break;
      if (!s.write(chunk)) await Promise.race([once(s, 'drain'), closed]);
    }
    if (!s.destroyed && !stopped) {
      s.write(encodeEndOfRib());
      emit({ event: 'sent', t: now(), bytes: feed.bytes.length, updates: feed.updates });
    }
    await closed;
    if (keepaliveTimer) clearInterval(keepaliveTimer);
    if (failure && !stopped) throw failure;
  };

  const done = run().then(
    () => emit({ event: 'closed' }),
    (err: unknown) => {
      if (keepaliveTimer) clearInterval(keepaliveTimer);
      emit({ event: 'error', message: err instanceof Error ? err.message : String(err) });
      throw err;
    },
  );
  return { done, stop };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '100000' },
      'attr-sets': { type: 'string', default: '1000' },
      local: { type: 'string', default: '192.0.2.1' },
      peer: { type: 'string', default: '192.0.2.2' },
      port: { type: 'string', default: '179' },
      asn: { type: 'string', default: String(SENDER_ASN) },
      'hold-time': { type: 'string', default: '240' },
      'connect-timeout-ms': { type: 'string', default: '15000' },
    },
  });
  const emit = (e: BlasterEvent): void => {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  };
  const blaster = startBlaster(
    {
      n: Number(values.n),
      attrSets: Number(values['attr-sets']),
      localAddress: values.local,
      peerAddress: values.peer,
      port: Number(values.port),
      asn: Number(values.asn),
      holdTime: Number(values['hold-time']),
      connectTimeoutMs: Number(values['connect-timeout-ms']),
    },
    emit,
  );
  process.stdin.on('end', () => blaster.stop());
  process.stdin.on('error', () => blaster.stop());
  process.stdin.resume();
  process.on('SIGTERM', () => blaster.stop());
  process.on('SIGINT', () => blaster.stop());
  blaster.done.then(
    () => process.exit(0),
    () => process.exit(1),
  );
}

if (import.meta.main) main();
