// A raw-socket BGP peer for whole-message malformations ExaBGP cannot produce (it can attach raw
// attributes to a route, never send raw messages). It runs inside a lab namespace and is driven
// over HTTP on a unix socket. Deliberately independent of bgp/wire: every byte is built here or
// by the test, so our codec is never tested against itself.
//
// argv[2]: JSON { socket, host, port, localAddress, asn, routerId, holdTime }
// Endpoints: POST /connect (a fresh session: OPEN, waits for the peer's OPEN, KEEPALIVE),
//   POST /send { hex } (raw bytes, header included), GET /state → { established, closed,
//   received: [{ type, code?, subcode?, data? }] } — every message received since /connect.

import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';

interface Config {
  socket: string;
  host: string;
  port: number;
  localAddress: string;
  asn: number;
  routerId: string;
  holdTime: number;
}
interface Received {
  type: number;
  code?: number;
  subcode?: number;
  data?: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;

function message(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(19 + body.length, 16);
  h[18] = type;
  return Buffer.concat([h, body]);
}

function openMessage(): Buffer {
  const cap = (code: number, value: Buffer) => Buffer.concat([Buffer.from([code, value.length]), value]);
  const as4 = Buffer.alloc(4);
  as4.writeUInt32BE(cfg.asn);
  const caps = Buffer.concat([
    cap(1, Buffer.from([0, 1, 0, 1])), // multiprotocol IPv4 unicast
    cap(1, Buffer.from([0, 2, 0, 1])), // multiprotocol IPv6 unicast
    cap(2, Buffer.alloc(0)), // route refresh
    cap(65, as4), // 4-octet AS
  ]);
  const params = Buffer.concat([Buffer.from([2, caps.length]), caps]);
  const body = Buffer.alloc(10);
  body[0] = 4;
  body.writeUInt16BE(cfg.asn > 0xffff ? 23456 : cfg.asn, 1);
  body.writeUInt16BE(cfg.holdTime, 3);
  Buffer.from(cfg.routerId.split('.').map(Number)).copy(body, 5);
  body[9] = params.length;
  return message(1, Buffer.concat([body, params]));
}

let sock: Socket | null = null;
let established = false;
let closed = false;
let received: Received[] = [];
let keepalive: NodeJS.Timeout | undefined;

function startSession(): Promise<void> {
  sock?.destroy();
  clearInterval(keepalive);
  established = false;
  closed = false;
  received = [];
  return new Promise((resolve, reject) => {
    const s = connect({ host: cfg.host, port: cfg.port, localAddress: cfg.localAddress });
    sock = s;
    let buf = Buffer.alloc(0);
    s.on('connect', () => s.write(openMessage()));
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 19) {
        const len = buf.readUInt16BE(16);
        if (buf.length < len) break;
        const m = buf.subarray(0, len);
        buf = buf.subarray(len);
        const type = m[18] as number;
        const r: Received = { type };
        if (type === 3) {
          r.code = m[19];
          r.subcode = m[20];
          r.data = m.subarray(21).toString('hex');
        }
        received.push(r);
        if (type === 1) s.write(message(4, Buffer.alloc(0)));
        if (type === 4 && !established) {
          established = true;
          keepalive = setInterval(() => s.write(message(4, Buffer.alloc(0))), (cfg.holdTime * 1000) / 3);
          resolve();
        }
      }
    });
    s.on('error', (err) => {
      if (!established) reject(err);
    });
    s.on('close', () => {
      closed = true;
      established = false;
      clearInterval(keepalive);
      reject(new Error('closed before Established'));
    });
  });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as { hex?: string }) : {};
      if (req.method === 'POST' && req.url === '/connect') await startSession();
      else if (req.method === 'POST' && req.url === '/send') {
        if (sock === null || closed) throw new Error('no session');
        sock.write(Buffer.from(body.hex ?? '', 'hex'));
      } else if (req.method !== 'GET' || req.url !== '/state') {
        res.writeHead(404).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ established, closed, received }));
    })().catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
});
rmSync(cfg.socket, { force: true });
server.listen(cfg.socket);
process.on('SIGTERM', () => {
  sock?.destroy();
  process.exit(0);
});
