// The agent-scale benchmark's BGP peer: a raw BGP speaker of the bench's own (the wire work of
// encode.ts, independent of bgp/, which is under test) that plays a top-of-rack router announcing
// the other nodes' pod CIDRs, each with that node's address as next hop. It listens; the agent
// connects to it (a BGPPeer with its address in the agent's datastore).
//
// Run inside the peer namespace:
//   node test/bench/agent-scale-peer.ts --listen 172.16.255.254 [--asn 4200000001] [--hold-time 240]
// It keeps a table (prefix → next hop). Commands, one JSON line each on stdin:
//   {"id":1,"op":"set","routes":[{"prefix":"10.1.1.0/24","nextHop":"172.16.0.2"},…]}
//   {"id":2,"op":"withdraw","prefixes":["10.1.1.0/24"]}
// change the table and, while a session is up, send the UPDATEs at once. Answers and events, one
// JSON line each on stdout:
//   {"event":"ready"}                                   listening
//   {"event":"established","at":…}                      a session is up
//   {"event":"table-sent","at":…,"routes":N,"bytes":B}  the whole table and End-of-RIB written
//   {"id":1,"event":"sent","at":…|null,"bytes":B}       a command's UPDATEs written (`at` null:
//                                                       no session, the table has it for the next)
//   {"event":"closed","at":…,"reason":…}                the session ended
//   {"event":"error","message":…}
// `at` is the wall clock (Date.now()) just before the bytes were handed to the socket, so the
// bench can compare it with the agent's own Date.now() stamps. One session at a time: a second
// connection while one is up is closed at once. It exits when stdin closes or on SIGTERM.

import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  decodeOpen,
  encodeAttributes,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  ipv4ToNumber,
  MessageFramer,
  MessageType,
} from './bgp/encode.ts';
import { attrSet, SENDER_ASN } from './bgp/feed.ts';

export interface PeerRoute {
  readonly prefix: string;
  readonly nextHop: string;
}

export type PeerCommand =
  | { readonly id: number; readonly op: 'set'; readonly routes: readonly PeerRoute[] }
  | { readonly id: number; readonly op: 'withdraw'; readonly prefixes: readonly string[] };

export type PeerEvent =
  | { readonly event: 'ready' }
  | { readonly event: 'established'; readonly at: number }
  | { readonly event: 'table-sent'; readonly at: number; readonly routes: number; readonly bytes: number }
  | { readonly id: number; readonly event: 'sent'; readonly at: number | null; readonly bytes: number }
  | { readonly event: 'closed'; readonly at: number; readonly reason: string }
  | { readonly event: 'error'; readonly message: string; readonly id?: number };

const HEADER_LEN = 19; // RFC 4271 section 4.1
const MAX_MESSAGE_LEN = 4096;

/** An IPv4 prefix as NLRI (RFC 4271 section 4.3): length in bits, then the significant octets. */
export function encodePrefix(prefix: string): Buffer {
  const [addr, lenText] = prefix.split('/');
  const len = Number(lenText);
  if (addr === undefined || !Number.isInteger(len) || len < 0 || len > 32)
    throw new Error(`not an IPv4 prefix: ${prefix}`);
  const n = ipv4ToNumber(addr);
  const octets = Math.ceil(len / 8);
  const out = Buffer.alloc(1 + octets);
  out[0] = len;
  for (let i = 0; i < octets; i++) out[1 + i] = (n >>> (24 - 8 * i)) & 255;
  return out;
}

function header(length: number): Buffer {
  const buf = Buffer.alloc(HEADER_LEN);
  buf.fill(0xff, 0, 16);
  buf.writeUInt16BE(length, 16);
  buf.writeUInt8(MessageType.update, 18);
  return buf;
}

/**
 * UPDATEs (each at most 4096 bytes) that withdraw `withdrawn` and announce `routes`: one attribute
 * set per next hop (ORIGIN, AS_PATH with the sender's AS, NEXT_HOP, MED, COMMUNITIES), the
 * prefixes of one next hop packed together.
 */
export function encodeUpdates(routes: readonly PeerRoute[], withdrawn: readonly string[] = []): Buffer[] {
  const out: Buffer[] = [];
  const room = MAX_MESSAGE_LEN - HEADER_LEN - 4;
  // Withdrawals: no attributes.
  let batch: Buffer[] = [];
  let size = 0;
  const flushWithdrawn = () => {
    if (batch.length === 0) return;
    const w = Buffer.concat(batch);
    const lens = Buffer.alloc(4);
    lens.writeUInt16BE(w.length, 0);
    lens.writeUInt16BE(0, 2);
    out.push(Buffer.concat([header(HEADER_LEN + 4 + w.length), lens.subarray(0, 2), w, lens.subarray(2)]));
    batch = [];
    size = 0;
  };
  for (const p of withdrawn) {
    const nlri = encodePrefix(p);
    if (size + nlri.length > room) flushWithdrawn();
    batch.push(nlri);
    size += nlri.length;
  }
  flushWithdrawn();
  const byHop = new Map<string, string[]>();
  for (const r of routes) byHop.set(r.nextHop, [...(byHop.get(r.nextHop) ?? []), r.prefix]);
  const set = attrSet(0);
  for (const [hop, prefixes] of byHop) {
    const attrs = encodeAttributes(set, ipv4ToNumber(hop));
    const flush = (nlri: Buffer[]) => {
      const body = Buffer.concat(nlri);
      const lens = Buffer.alloc(4);
      lens.writeUInt16BE(0, 0);
      lens.writeUInt16BE(attrs.length, 2);
      out.push(Buffer.concat([header(HEADER_LEN + 4 + attrs.length + body.length), lens, attrs, body]));
    };
    let nlri: Buffer[] = [];
    let used = attrs.length;
    for (const p of prefixes) {
      const b = encodePrefix(p);
      if (used + b.length > room) {
        flush(nlri);
        nlri = [];
        used = attrs.length;
      }
      nlri.push(b);
      used += b.length;
    }
    if (nlri.length > 0) flush(nlri);
  }
  return out;
}

interface Options {
  readonly listen: string;
  readonly asn: number;
  readonly holdTime: number;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string' },
      asn: { type: 'string', default: String(SENDER_ASN) },
      'hold-time': { type: 'string', default: '240' },
    },
  });
  if (values.listen === undefined) throw new Error('--listen ADDRESS is required');
  const opts: Options = {
    listen: values.listen,
    asn: Number(values.asn),
    holdTime: Number(values['hold-time']),
  };
  const emit = (e: PeerEvent): void => {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  };
  const table = new Map<string, string>();
  let session: net.Socket | undefined;
  let established = false;

  const write = (socket: net.Socket, messages: readonly Buffer[]): { at: number; bytes: number } => {
    const bytes = messages.reduce((s, m) => s + m.length, 0);
    const at = Date.now();
    socket.write(messages.length === 1 ? messages[0]! : Buffer.concat(messages));
    return { at, bytes };
  };

  const accept = (socket: net.Socket): void => {
    if (session !== undefined) {
      socket.destroy();
      return;
    }
    session = socket;
    established = false;
    socket.setNoDelay(true);
    const framer = new MessageFramer();
    let peerOpened = false;
    let keepalive: NodeJS.Timeout | undefined;
    let reason = 'connection closed';
    socket.on('error', (err) => {
      reason = err.message;
    });
    socket.on('close', () => {
      clearInterval(keepalive);
      if (session === socket) {
        session = undefined;
        established = false;
      }
      emit({ event: 'closed', at: Date.now(), reason });
    });
    socket.on('data', (data: Buffer) => {
      let messages: ReturnType<MessageFramer['push']>;
      try {
        messages = framer.push(data);
      } catch (err) {
        reason = (err as Error).message;
        socket.destroy();
        return;
      }
      for (const m of messages) {
        if (m.type === MessageType.open && !peerOpened) {
          const open = decodeOpen(m.body);
          if (!open.capabilities.includes(65)) {
            reason = 'peer does not support 4-octet AS numbers';
            socket.end(encodeNotification(2, 7));
            return;
          }
          peerOpened = true;
          socket.write(encodeKeepalive());
          // RFC 4271 section 4.4: keepalive at a third of the negotiated hold time.
          const hold = Math.min(opts.holdTime, open.holdTime);
          if (hold > 0) keepalive = setInterval(() => socket.write(encodeKeepalive()), (hold * 1000) / 3);
        } else if (m.type === MessageType.keepalive && peerOpened && !established) {
          // RFC 4271 section 8.2.2: the peer's KEEPALIVE after its OPEN, the session is Established.
          established = true;
          emit({ event: 'established', at: Date.now() });
          const routes = [...table].map(([prefix, nextHop]) => ({ prefix, nextHop }));
          const { at, bytes } = write(socket, [...encodeUpdates(routes), encodeEndOfRib()]);
          emit({ event: 'table-sent', at, routes: routes.length, bytes });
        } else if (m.type === MessageType.notification) {
          reason = `peer sent NOTIFICATION ${m.body[0]}/${m.body[1]}`;
        }
      }
    });
    socket.write(encodeOpen({ asn: opts.asn, holdTime: opts.holdTime, routerId: opts.listen }));
  };

  const server = net.createServer(accept);
  server.on('error', (err) => {
    emit({ event: 'error', message: err.message });
    process.exit(1);
  });
  server.listen({ host: opts.listen, port: 179 }, () => emit({ event: 'ready' }));

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let cmd: PeerCommand;
    try {
      cmd = JSON.parse(line) as PeerCommand;
    } catch {
      emit({ event: 'error', message: `bad command line: ${line.slice(0, 100)}` });
      return;
    }
    try {
      const messages = cmd.op === 'set' ? encodeUpdates(cmd.routes) : encodeUpdates([], cmd.prefixes);
      if (cmd.op === 'set') for (const r of cmd.routes) table.set(r.prefix, r.nextHop);
      else for (const p of cmd.prefixes) table.delete(p);
      if (session !== undefined && established) {
        const { at, bytes } = write(session, messages);
        emit({ id: cmd.id, event: 'sent', at, bytes });
      } else {
        emit({ id: cmd.id, event: 'sent', at: null, bytes: 0 });
      }
    } catch (err) {
      emit({ id: cmd.id, event: 'error', message: (err as Error).message });
    }
  });
  const stop = (): void => {
    session?.end(encodeNotification(6, 2));
    server.close();
    setTimeout(() => process.exit(0), 200);
  };
  rl.on('close', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.main) main();
