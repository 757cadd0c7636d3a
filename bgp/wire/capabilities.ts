// Capabilities (RFC 5492) as a descriptor table: one entry per code with its decoder and encoder,
// so a new capability is one entry, not a new branch in a switch. A capability this table does not
// know is kept as `{kind: 'unknown', code, value}` (RFC 5492 §4: ignore what you do not
// understand).
//
// Decisions:
// - A known capability with a malformed value is OPEN Message Error / Unspecific (subcode 0,
//   RFC 4271 §6.2: "recognized, but is malformed"), with no data.
// - Code 128 (the pre-standard Cisco route refresh) decodes as route refresh; encode sends 2.
// - The FQDN capability (draft-walton-bgp-hostname-capability) values are decoded as UTF-8
//   leniently (invalid sequences become U+FFFD): it is for display only.

import { BgpError, WireError } from '../errors.ts';
import type { Reader } from './reader.ts';
import { type AddPathMode, type Capability, CapabilityCode, NotifyCode, OpenSubcode } from './types.ts';
import { ByteWriter, checkUint } from './writer.ts';

/** RFC 2918 §2 notes the earlier private code 128 for route refresh. */
export const CISCO_ROUTE_REFRESH = 128;

export interface CapabilityDescriptor {
  readonly code: number;
  readonly name: string;
  /** Decodes exactly the capability value in `r`. */
  decode(r: Reader): Capability;
  /** Writes the capability value (without code and length). */
  encode(w: ByteWriter, cap: Capability): void;
}

function malformed(what: string): WireError {
  return new WireError(NotifyCode.openMessage, OpenSubcode.unspecific, `malformed capability: ${what}`);
}

function expectLength(r: Reader, name: string, ok: boolean): void {
  if (!ok) throw malformed(`${name} value of ${r.remaining} bytes`);
}

const ADD_PATH_MODES: readonly (AddPathMode | undefined)[] = [undefined, 'receive', 'send', 'both'];
const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function readText(r: Reader, what: string): string {
  const n = r.u8(`${what} length`);
  return utf8.decode(r.bytes(n, what));
}

function writeText(w: ByteWriter, text: string, what: string): void {
  const b = utf8Encoder.encode(text);
  if (b.length > 255) throw new BgpError('BGP_ERR_ENCODE', `${what} is ${b.length} bytes, above 255`);
  w.u8(b.length);
  w.bytes(b);
}

function as<K extends Capability['kind']>(cap: Capability, kind: K): Extract<Capability, { kind: K }> {
  if (cap.kind !== kind)
    throw new BgpError('BGP_ERR_ENCODE', `capability ${cap.kind} given to the ${kind} encoder`);
  return cap as Extract<Capability, { kind: K }>;
}

const empty = (name: string, kind: 'routeRefresh' | 'enhancedRouteRefresh' | 'extendedMessage') => ({
  decode(r: Reader): Capability {
    expectLength(r, name, r.remaining === 0);
    return { kind } as Capability;
  },
  encode(): void {},
});

const descriptors: CapabilityDescriptor[] = [
  {
    code: CapabilityCode.multiprotocol,
    name: 'Multiprotocol Extensions',
    decode(r) {
      // RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
      expectLength(r, 'multiprotocol', r.remaining === 4);
      const afi = r.u16();
      r.skip(1);
      return { kind: 'multiprotocol', afi, safi: r.u8() };
    },
    encode(w, cap) {
      const c = as(cap, 'multiprotocol');
      w.u16(checkUint(c.afi, 16, 'AFI'));
      w.u8(0);
      w.u8(checkUint(c.safi, 8, 'SAFI'));
    },
  },
  { code: CapabilityCode.routeRefresh, name: 'Route Refresh', ...empty('route refresh', 'routeRefresh') },
  { code: CISCO_ROUTE_REFRESH, name: 'Route Refresh (Cisco)', ...empty('route refresh', 'routeRefresh') },
  {
    code: CapabilityCode.extendedNextHop,
    name: 'Extended Next Hop Encoding',
    decode(r) {
      // RFC 8950 §3: triples of NLRI AFI (2), NLRI SAFI (2), next hop AFI (2).
      expectLength(r, 'extended next hop', r.remaining > 0 && r.remaining % 6 === 0);
      const entries: { afi: number; safi: number; nextHopAfi: number }[] = [];
      while (r.remaining > 0) entries.push({ afi: r.u16(), safi: r.u16(), nextHopAfi: r.u16() });
      return { kind: 'extendedNextHop', entries };
    },
    encode(w, cap) {
      for (const e of as(cap, 'extendedNextHop').entries) {
        w.u16(checkUint(e.afi, 16, 'AFI'));
        w.u16(checkUint(e.safi, 16, 'SAFI'));
        w.u16(checkUint(e.nextHopAfi, 16, 'next hop AFI'));
      }
    },
  },
  {
    code: CapabilityCode.extendedMessage,
    name: 'Extended Message',
    ...empty('extended message', 'extendedMessage'),
  },
  {
    code: CapabilityCode.gracefulRestart,
    name: 'Graceful Restart',
    decode(r) {
      // RFC 4724 §3: flags (4 bits: R, N per RFC 8538) + restart time (12 bits), then
      // AFI (2), SAFI (1), flags (1, F = forwarding preserved) per family.
      expectLength(r, 'graceful restart', r.remaining >= 2 && (r.remaining - 2) % 4 === 0);
      const head = r.u16();
      const families: { afi: number; safi: number; forwardingPreserved: boolean }[] = [];
      while (r.remaining > 0) {
        const afi = r.u16();
        const safi = r.u8();
        families.push({ afi, safi, forwardingPreserved: (r.u8() & 0x80) !== 0 });
      }
      return {
        kind: 'gracefulRestart',
        restartState: (head & 0x8000) !== 0,
        notification: (head & 0x4000) !== 0,
        restartTime: head & 0x0fff,
        families,
      };
    },
    encode(w, cap) {
      const c = as(cap, 'gracefulRestart');
      if (!Number.isInteger(c.restartTime) || c.restartTime < 0 || c.restartTime > 0xfff) {
        throw new BgpError('BGP_ERR_ENCODE', `graceful restart time ${c.restartTime} does not fit 12 bits`);
      }
      w.u16((c.restartState ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | c.restartTime);
      for (const f of c.families) {
        w.u16(checkUint(f.afi, 16, 'AFI'));
        w.u8(checkUint(f.safi, 8, 'SAFI'));
        w.u8(f.forwardingPreserved ? 0x80 : 0);
      }
    },
  },
  {
    code: CapabilityCode.longLivedGracefulRestart,
    name: 'Long-Lived Graceful Restart',
    decode(r) {
      // RFC 9494 §2: zero or more tuples of AFI (2), SAFI (1), flags (1, F = forwarding
      // preserved, the other bits reserved and ignored), Long-Lived Stale Time (3).
      expectLength(r, 'long-lived graceful restart', r.remaining % 7 === 0);
      const families: { afi: number; safi: number; forwardingPreserved: boolean; staleTime: number }[] = [];
      while (r.remaining > 0) {
        const afi = r.u16();
        const safi = r.u8();
        const forwardingPreserved = (r.u8() & 0x80) !== 0;
        const staleTime = (r.u16() << 8) | r.u8();
        families.push({ afi, safi, forwardingPreserved, staleTime });
      }
      return { kind: 'longLivedGracefulRestart', families };
    },
    encode(w, cap) {
      for (const f of as(cap, 'longLivedGracefulRestart').families) {
        w.u16(checkUint(f.afi, 16, 'AFI'));
        w.u8(checkUint(f.safi, 8, 'SAFI'));
        w.u8(f.forwardingPreserved ? 0x80 : 0);
        const time = f.staleTime;
        if (!Number.isInteger(time) || time < 0 || time > 0xffffff) {
          throw new BgpError('BGP_ERR_ENCODE', `long-lived stale time ${time} does not fit 24 bits`);
        }
        w.u16(time >>> 8);
        w.u8(time & 0xff);
      }
    },
  },
  {
    code: CapabilityCode.fourOctetAs,
    name: 'Support for 4-octet AS number',
    decode(r) {
      expectLength(r, '4-octet AS', r.remaining === 4); // RFC 6793 §3
      return { kind: 'fourOctetAs', asn: r.u32() };
    },
    encode(w, cap) {
      w.u32(checkUint(as(cap, 'fourOctetAs').asn, 32, 'ASN'));
    },
  },
  {
    code: CapabilityCode.addPath,
    name: 'ADD-PATH',
    decode(r) {
      // RFC 7911 §4: AFI (2), SAFI (1), Send/Receive (1: 1 receive, 2 send, 3 both).
      expectLength(r, 'ADD-PATH', r.remaining > 0 && r.remaining % 4 === 0);
      const entries: { afi: number; safi: number; mode: AddPathMode }[] = [];
      while (r.remaining > 0) {
        const afi = r.u16();
        const safi = r.u8();
        const mode = ADD_PATH_MODES[r.u8()];
        if (mode === undefined) throw malformed('ADD-PATH Send/Receive value not 1, 2 or 3');
        entries.push({ afi, safi, mode });
      }
      return { kind: 'addPath', entries };
    },
    encode(w, cap) {
      for (const e of as(cap, 'addPath').entries) {
        w.u16(checkUint(e.afi, 16, 'AFI'));
        w.u8(checkUint(e.safi, 8, 'SAFI'));
        w.u8(ADD_PATH_MODES.indexOf(e.mode));
      }
    },
  },
  {
    code: CapabilityCode.enhancedRouteRefresh,
    name: 'Enhanced Route Refresh',
    ...empty('enhanced route refresh', 'enhancedRouteRefresh'),
  },
  {
    code: CapabilityCode.fqdn,
    name: 'FQDN',
    decode(r) {
      const hostname = readText(r, 'FQDN hostname');
      const domain = readText(r, 'FQDN domain');
      expectLength(r, 'FQDN', r.remaining === 0);
      return { kind: 'fqdn', hostname, domain };
    },
    encode(w, cap) {
      const c = as(cap, 'fqdn');
      writeText(w, c.hostname, 'FQDN hostname');
      writeText(w, c.domain, 'FQDN domain');
    },
  },
];

export const CAPABILITY_TABLE: readonly (CapabilityDescriptor | undefined)[] = (() => {
  const t: (CapabilityDescriptor | undefined)[] = new Array(256).fill(undefined);
  for (const d of descriptors) t[d.code] = d;
  return t;
})();

const CODE_OF_KIND: Readonly<Record<Exclude<Capability['kind'], 'unknown'>, number>> = {
  multiprotocol: CapabilityCode.multiprotocol,
  routeRefresh: CapabilityCode.routeRefresh,
  enhancedRouteRefresh: CapabilityCode.enhancedRouteRefresh,
  fourOctetAs: CapabilityCode.fourOctetAs,
  gracefulRestart: CapabilityCode.gracefulRestart,
  longLivedGracefulRestart: CapabilityCode.longLivedGracefulRestart,
  extendedNextHop: CapabilityCode.extendedNextHop,
  addPath: CapabilityCode.addPath,
  extendedMessage: CapabilityCode.extendedMessage,
  fqdn: CapabilityCode.fqdn,
};

/** Decodes the capabilities in one Capabilities optional parameter (RFC 5492 §4). */
export function decodeCapabilities(r: Reader, out: Capability[]): void {
  while (r.remaining > 0) {
    const code = r.u8('capability code');
    const len = r.u8('capability length');
    const value = r.sub(len, 'capability value');
    const d = CAPABILITY_TABLE[code];
    // Unknown values are copied: they outlive the frame.
    out.push(d ? d.decode(value) : { kind: 'unknown', code, value: r.buf.slice(value.pos, value.end) });
  }
}

/** Code, length and value of each capability, concatenated. */
export function encodeCapabilities(caps: readonly Capability[]): Uint8Array {
  // Roomy, so the per-capability 255-byte check speaks first; encodeOpen bounds the total.
  const w = new ByteWriter(65535);
  for (const cap of caps) {
    if (cap.kind === 'unknown') {
      w.u8(checkUint(cap.code, 8, 'capability code'));
      if (cap.value.length > 255)
        throw new BgpError('BGP_ERR_ENCODE', `capability ${cap.code} value above 255 bytes`);
      w.u8(cap.value.length);
      w.bytes(cap.value);
      continue;
    }
    const code = CODE_OF_KIND[cap.kind];
    const d = CAPABILITY_TABLE[code] as CapabilityDescriptor;
    w.u8(code);
    const lenAt = w.pos;
    w.u8(0);
    d.encode(w, cap);
    const len = w.pos - lenAt - 1;
    if (len > 255)
      throw new BgpError('BGP_ERR_ENCODE', `capability ${d.name} value is ${len} bytes, above 255`);
    w.buf[lenAt] = len;
  }
  return w.toBytes();
}
