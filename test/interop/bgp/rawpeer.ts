// Test-side handle of rawpeer-child.ts, and builders for the UPDATE bytes the malformation
// tests send (RFC 4271 §4.3 layout, built by hand).
import { request } from 'node:http';
import { join } from 'node:path';
import type { Lab } from '../lib/lab.ts';
import type { ProcessHandle } from '../lib/netns.ts';
import { waitFor } from '../lib/wait.ts';

export interface RawState {
  readonly established: boolean;
  readonly closed: boolean;
  readonly received: readonly { type: number; code?: number; subcode?: number; data?: string }[];
}

export interface RawPeer {
  readonly process: ProcessHandle;
  /** A fresh session (OPEN/KEEPALIVE exchange); resolves once Established. */
  connect(): Promise<void>;
  send(bytes: Uint8Array): Promise<void>;
  state(): Promise<RawState>;
}

function call<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`rawpeer ${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`rawpeer ${method} ${path}: timeout`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export async function startRawPeer(
  lab: Lab,
  ns: string,
  o: { host: string; localAddress: string; asn: number; routerId: string; holdTime?: number },
): Promise<RawPeer> {
  const socket = join(lab.mkdir('rawpeer'), 'rawpeer.sock');
  const arg = JSON.stringify({ socket, port: 179, holdTime: 30, ...o });
  const proc = lab.spawn(ns, [process.execPath, join(import.meta.dirname, 'rawpeer-child.ts'), arg], {
    name: 'rawpeer',
  });
  const peer: RawPeer = {
    process: proc,
    connect: async () => {
      await call(socket, 'POST', '/connect');
    },
    send: async (bytes) => {
      await call(socket, 'POST', '/send', { hex: Buffer.from(bytes).toString('hex') });
    },
    state: () => call<RawState>(socket, 'GET', '/state'),
  };
  await waitFor(() => peer.state(), { describe: `raw peer in ${ns} (log ${proc.logFile})` });
  return peer;
}

// ---- byte builders ---------------------------------------------------------------------------

export function attr(flags: number, type: number, value: readonly number[] | Uint8Array): Buffer {
  const v = Buffer.from(value);
  if (flags & 0x10) {
    const h = Buffer.from([flags, type, 0, 0]);
    h.writeUInt16BE(v.length, 2);
    return Buffer.concat([h, v]);
  }
  return Buffer.concat([Buffer.from([flags, type, v.length]), v]);
}

/** An attribute header claiming `claimed` bytes of value followed by `value` (a length lie). */
export function attrWithLength(
  flags: number,
  type: number,
  claimed: number,
  value: readonly number[],
): Buffer {
  return Buffer.concat([Buffer.from([flags, type, claimed]), Buffer.from(value)]);
}

export function ipv4Prefix(prefix: string): Buffer {
  const [addr, len] = prefix.split('/') as [string, string];
  const bits = Number(len);
  const bytes = addr
    .split('.')
    .map(Number)
    .slice(0, Math.ceil(bits / 8));
  return Buffer.from([bits, ...bytes]);
}

const ip4 = (a: string): number[] => a.split('.').map(Number);

export const ORIGIN_IGP = attr(0x40, 1, [0]);
/** AS_PATH with one AS_SEQUENCE of 4-octet ASNs. */
export function asPath(...asns: number[]): Buffer {
  const v = Buffer.alloc(2 + 4 * asns.length);
  v[0] = 2;
  v[1] = asns.length;
  for (const [i, a] of asns.entries()) v.writeUInt32BE(a, 2 + 4 * i);
  return attr(0x40, 2, v);
}
export const nextHop = (a: string): Buffer => attr(0x40, 3, ip4(a));
export function communities(...cs: [number, number][]): Buffer {
  const v = Buffer.alloc(4 * cs.length);
  cs.forEach(([x, y], i) => {
    v.writeUInt16BE(x, 4 * i);
    v.writeUInt16BE(y, 4 * i + 2);
  });
  return attr(0xc0, 8, v);
}

/** A whole UPDATE: withdrawn routes, path attributes, NLRI (each already encoded). */
export function update(parts: {
  withdrawn?: Buffer;
  attrs?: readonly Buffer[];
  nlri?: readonly Buffer[];
}): Buffer {
  const w = parts.withdrawn ?? Buffer.alloc(0);
  const a = Buffer.concat(parts.attrs ?? []);
  const n = Buffer.concat(parts.nlri ?? []);
  const body = Buffer.alloc(4 + w.length + a.length + n.length);
  body.writeUInt16BE(w.length, 0);
  w.copy(body, 2);
  body.writeUInt16BE(a.length, 2 + w.length);
  a.copy(body, 4 + w.length);
  n.copy(body, 4 + w.length + a.length);
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(19 + body.length, 16);
  h[18] = 2;
  return Buffer.concat([h, body]);
}
