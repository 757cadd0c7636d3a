// Text forms of communities, as BIRD, FRR and GoBGP print and accept them:
// RFC 1997 "64512:100" (and the well-known names), RFC 8092 "64512:1:2",
// RFC 4360 route target / route origin "rt:64512:100", "soo:192.0.2.1:7".

import type { LargeCommunity } from './wire/types.ts';
import { WellKnownCommunity } from './wire/types.ts';

const WELL_KNOWN_NAMES: Record<string, number> = {
  'no-export': WellKnownCommunity.noExport,
  'no-advertise': WellKnownCommunity.noAdvertise,
  'no-export-subconfed': WellKnownCommunity.noExportSubconfed,
  'local-as': WellKnownCommunity.noExportSubconfed,
  blackhole: 0xffff029a, // RFC 7999
  'graceful-shutdown': 0xffff0000, // RFC 8326
  'llgr-stale': WellKnownCommunity.llgrStale, // RFC 9494
  'no-llgr': WellKnownCommunity.noLlgr,
};
const NAME_OF = new Map<number, string>([
  [WellKnownCommunity.noExport, 'no-export'],
  [WellKnownCommunity.noAdvertise, 'no-advertise'],
  [WellKnownCommunity.noExportSubconfed, 'no-export-subconfed'],
  [0xffff029a, 'blackhole'],
  [0xffff0000, 'graceful-shutdown'],
  [WellKnownCommunity.llgrStale, 'llgr-stale'],
  [WellKnownCommunity.noLlgr, 'no-llgr'],
]);

function uint(text: string, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** Parses "ASN:VALUE" (each 0..65535) or a well-known name; undefined when malformed. */
export function parseCommunity(text: string): number | undefined {
  const named = WELL_KNOWN_NAMES[text.toLowerCase()];
  if (named !== undefined) return named;
  const parts = text.split(':');
  if (parts.length !== 2) return undefined;
  const hi = uint(parts[0] as string, 0xffff);
  const lo = uint(parts[1] as string, 0xffff);
  if (hi === undefined || lo === undefined) return undefined;
  return ((hi << 16) | lo) >>> 0;
}

export function formatCommunity(value: number): string {
  return NAME_OF.get(value) ?? `${value >>> 16}:${value & 0xffff}`;
}

/** Parses "GLOBAL:LOCAL1:LOCAL2", each 0..4294967295 (RFC 8092 §3). */
export function parseLargeCommunity(text: string): LargeCommunity | undefined {
  const parts = text.split(':');
  if (parts.length !== 3) return undefined;
  const [a, b, c] = parts.map((p) => uint(p, 0xffffffff));
  if (a === undefined || b === undefined || c === undefined) return undefined;
  return { globalAdmin: a, localData1: b, localData2: c };
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c.globalAdmin}:${c.localData1}:${c.localData2}`;
}

/**
 * Parses "rt:ASN:VAL" / "soo:ASN:VAL" (2-octet AS, 4-octet value; or 4-octet AS, 2-octet value)
 * and "rt:A.B.C.D:VAL" (IPv4 address, 2-octet value), RFC 4360 §4 and RFC 5668.
 */
export function parseExtendedCommunity(text: string): bigint | undefined {
  const parts = text.split(':');
  if (parts.length !== 3) return undefined;
  const [kind, admin, val] = parts as [string, string, string];
  const subtype = kind === 'rt' ? 0x02n : kind === 'soo' ? 0x03n : undefined;
  if (subtype === undefined) return undefined;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(admin)) {
    const octets = admin.split('.').map((o) => uint(o, 255));
    const v = uint(val, 0xffff);
    if (octets.some((o) => o === undefined) || v === undefined) return undefined;
    const ip = octets.reduce<bigint>((acc, o) => (acc << 8n) | BigInt(o as number), 0n);
    return (0x01n << 56n) | (subtype << 48n) | (ip << 16n) | BigInt(v);
  }
  const as = uint(admin, 0xffffffff);
  if (as === undefined) return undefined;
  if (as <= 0xffff) {
    const v = uint(val, 0xffffffff);
    if (v === undefined) return undefined;
    return (0x00n << 56n) | (subtype << 48n) | (BigInt(as) << 32n) | BigInt(v);
  }
  const v = uint(val, 0xffff);
  if (v === undefined) return undefined;
  return (0x02n << 56n) | (subtype << 48n) | (BigInt(as) << 16n) | BigInt(v);
}

export function formatExtendedCommunity(value: bigint): string {
  const type = Number((value >> 56n) & 0xffn);
  const subtype = Number((value >> 48n) & 0xffn);
  const kind = subtype === 0x02 ? 'rt' : subtype === 0x03 ? 'soo' : undefined;
  if (kind !== undefined && (type & 0x3f) <= 0x02) {
    if (type === 0x00) return `${kind}:${(value >> 32n) & 0xffffn}:${value & 0xffffffffn}`;
    if (type === 0x02) return `${kind}:${(value >> 16n) & 0xffffffffn}:${value & 0xffffn}`;
    const ip = Number((value >> 16n) & 0xffffffffn);
    return `${kind}:${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${value & 0xffffn}`;
  }
  return `0x${value.toString(16).padStart(16, '0')}`;
}
