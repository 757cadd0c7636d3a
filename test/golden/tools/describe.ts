// A deliberately small, independent BGP message summariser for fixture notes and the fixtures'
// integrity test: which capabilities an OPEN offers, which path attributes an UPDATE carries,
// whether it is an End-of-RIB, the NOTIFICATION code and shutdown communication. It is not a
// codec (bgp/wire is, and is tested against these fixtures); it only walks TLVs.

export interface MessageSummary {
  readonly type: number;
  readonly note: string;
  /** OPEN: capability codes in order. */
  readonly capabilities?: readonly number[];
  /** UPDATE: path attribute type codes in order. */
  readonly attributes?: readonly number[];
  readonly isEndOfRib?: boolean;
  readonly hasWithdrawn?: boolean;
  readonly hasNlri?: boolean;
  /** NOTIFICATION code/subcode; ROUTE-REFRESH subtype (RFC 7313). */
  readonly code?: number;
  readonly subcode?: number;
}

export const CAPABILITY_NAMES: Readonly<Record<number, string>> = {
  1: 'multiprotocol',
  2: 'route-refresh',
  5: 'extended-next-hop',
  6: 'extended-message',
  64: 'graceful-restart',
  65: 'as4',
  69: 'add-path',
  70: 'enhanced-route-refresh',
  71: 'long-lived-graceful-restart',
  73: 'fqdn',
  128: 'route-refresh-cisco',
};

export const ATTRIBUTE_NAMES: Readonly<Record<number, string>> = {
  1: 'ORIGIN',
  2: 'AS_PATH',
  3: 'NEXT_HOP',
  4: 'MULTI_EXIT_DISC',
  5: 'LOCAL_PREF',
  6: 'ATOMIC_AGGREGATE',
  7: 'AGGREGATOR',
  8: 'COMMUNITIES',
  9: 'ORIGINATOR_ID',
  10: 'CLUSTER_LIST',
  14: 'MP_REACH_NLRI',
  15: 'MP_UNREACH_NLRI',
  16: 'EXTENDED_COMMUNITIES',
  17: 'AS4_PATH',
  18: 'AS4_AGGREGATOR',
  32: 'LARGE_COMMUNITY',
};

const afiSafi = (afi: number, safi: number): string =>
  `${afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : `afi${afi}`}/${safi === 1 ? 'unicast' : `safi${safi}`}`;

function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

function u32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

export function summarize(msg: Uint8Array): MessageSummary {
  const type = msg[18] ?? 0;
  switch (type) {
    case 1:
      return summarizeOpen(msg);
    case 2:
      return summarizeUpdate(msg);
    case 3: {
      const code = msg[19] ?? 0;
      const subcode = msg[20] ?? 0;
      let note = `NOTIFICATION ${code}/${subcode}`;
      // RFC 9003 shutdown communication: Cease / Administrative Shutdown (2) or Reset (4).
      if (code === 6 && (subcode === 2 || subcode === 4) && msg.length > 21) {
        const len = msg[21] ?? 0;
        note += ` shutdown communication "${Buffer.from(msg.subarray(22, 22 + len)).toString('utf8')}"`;
      }
      return { type, note, code, subcode };
    }
    case 4:
      return { type, note: 'KEEPALIVE' };
    case 5: {
      const sub = msg[21] ?? 0;
      const name = ['refresh', 'BoRR', 'EoRR'][sub] ?? `subtype ${sub}`;
      return { type, note: `ROUTE-REFRESH ${afiSafi(u16(msg, 19), msg[22] ?? 0)} ${name}`, subcode: sub };
    }
    default:
      return { type, note: `type ${type}` };
  }
}

function summarizeOpen(msg: Uint8Array): MessageSummary {
  const myAs = u16(msg, 20);
  const hold = u16(msg, 22);
  const id = Array.from(msg.subarray(24, 28)).join('.');
  const optLen = msg[28] ?? 0;
  const caps: number[] = [];
  const words: string[] = [];
  let o = 29;
  const end = 29 + optLen;
  while (o + 2 <= end) {
    const pType = msg[o] ?? 0;
    const pLen = msg[o + 1] ?? 0;
    if (pType === 2) {
      let c = o + 2;
      while (c + 2 <= o + 2 + pLen) {
        const code = msg[c] ?? 0;
        const len = msg[c + 1] ?? 0;
        const v = msg.subarray(c + 2, c + 2 + len);
        caps.push(code);
        let w = CAPABILITY_NAMES[code] ?? `cap${code}`;
        if (code === 1) w += `(${afiSafi(u16(v, 0), v[3] ?? 0)})`;
        if (code === 65) w += `(${u32(v, 0)})`;
        if (code === 73) {
          const hl = v[0] ?? 0;
          w += `(${Buffer.from(v.subarray(1, 1 + hl)).toString()})`;
        }
        words.push(w);
        c += 2 + len;
      }
    }
    o += 2 + pLen;
  }
  return {
    type: 1,
    note: `OPEN as ${myAs} hold ${hold} id ${id} caps ${words.join(' ')}`,
    capabilities: caps,
  };
}

function summarizeUpdate(msg: Uint8Array): MessageSummary {
  const wLen = u16(msg, 19);
  const aOff = 21 + wLen;
  const aLen = u16(msg, aOff);
  const attrs: number[] = [];
  const words: string[] = [];
  let mpUnreachEmpty = false;
  let mpFamily = '';
  let o = aOff + 2;
  const end = aOff + 2 + aLen;
  while (o + 3 <= end) {
    const flags = msg[o] ?? 0;
    const code = msg[o + 1] ?? 0;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? u16(msg, o + 2) : (msg[o + 2] ?? 0);
    const v = msg.subarray(o + (ext ? 4 : 3), o + (ext ? 4 : 3) + len);
    attrs.push(code);
    words.push(ATTRIBUTE_NAMES[code] ?? `attr${code}`);
    if (code === 14 || code === 15) mpFamily = afiSafi(u16(v, 0), v[2] ?? 0);
    // MP_REACH next-hop length: 16 = IPv6 global, 32 = global + link-local (RFC 2545 §3).
    if (code === 14) mpFamily += ` nh ${v[3] ?? 0}B`;
    if (code === 8) {
      for (let c = 0; c + 4 <= v.length; c += 4) {
        const w = u32(v, c);
        if (w === 0xffffff01) words.push('(NO_EXPORT)');
        if (w === 0xffffff02) words.push('(NO_ADVERTISE)');
      }
    }
    if (code === 15 && len === 3) mpUnreachEmpty = true;
    o += (ext ? 4 : 3) + len;
  }
  const nlriLen = msg.length - end;
  const isEndOfRib = (wLen === 0 && aLen === 0 && nlriLen === 0) || (mpUnreachEmpty && attrs.length === 1);
  let note: string;
  if (isEndOfRib) note = `UPDATE End-of-RIB ${mpUnreachEmpty ? mpFamily : 'ipv4/unicast'}`;
  else {
    const parts = [];
    if (wLen) parts.push(`withdrawn ${wLen}B`);
    if (words.length) parts.push(`attrs ${words.join(' ')}${mpFamily ? ` (${mpFamily})` : ''}`);
    if (nlriLen) parts.push(`nlri ${nlriLen}B`);
    note = `UPDATE ${parts.join(', ')}`;
  }
  return {
    type: 2,
    note,
    attributes: attrs,
    isEndOfRib,
    hasWithdrawn: wLen > 0 || (attrs.includes(15) && !mpUnreachEmpty),
    hasNlri: nlriLen > 0 || attrs.includes(14),
  };
}
