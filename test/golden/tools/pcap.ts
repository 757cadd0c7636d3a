// Minimal pcap reader, TCP stream reassembly and BGP message framing for the golden captures.
//
// Scope: classic libpcap files (µs or ns timestamps, either byte order) with Ethernet, Linux
// cooked (SLL / SLL2) or raw-IP link types; IPv4 and IPv6 (no extension headers other than what
// TCP/BGP traffic in a lab produces, i.e. none); TCP without SACK-induced reordering beyond what
// sequence-number reassembly handles. Retransmitted and duplicated segments are collapsed by
// sequence number. Each direction of each TCP connection is reassembled from its SYN (or first
// seen byte) and then cut into BGP messages on the 19-byte header's length field (RFC 4271 §4.1).
// Deliberately independent of bgp/wire: these fixtures test that codec.

export interface PcapPacket {
  readonly tsMicros: number;
  readonly data: Uint8Array;
}

export interface PcapFile {
  readonly linkType: number;
  readonly packets: readonly PcapPacket[];
}

export function readPcap(buf: Uint8Array): PcapFile {
  if (buf.length < 24) throw new Error('pcap: file shorter than its global header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magicLe = dv.getUint32(0, true);
  let le: boolean;
  let nanos: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanos = magicLe === 0xa1b23c4d;
  } else {
    const magicBe = dv.getUint32(0, false);
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) {
      throw new Error(`pcap: bad magic 0x${magicLe.toString(16)} (pcapng is not supported)`);
    }
    le = false;
    nanos = magicBe === 0xa1b23c4d;
  }
  const linkType = dv.getUint32(20, le) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    off += 16;
    // A capture stopped mid-write may end in a truncated record; stop there.
    if (off + incl > buf.length) break;
    packets.push({
      tsMicros: sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac),
      data: buf.subarray(off, off + incl),
    });
    off += incl;
  }
  return { linkType, packets };
}

export interface TcpSegment {
  readonly tsMicros: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly flags: number;
  readonly payload: Uint8Array;
}

const TCP_SYN = 0x02;

/** The IP packet inside a link-layer frame, or undefined for non-IP frames. */
function ipPayload(linkType: number, frame: Uint8Array): { ethertype: number; ip: Uint8Array } | undefined {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let off: number;
  let ethertype: number;
  switch (linkType) {
    case 1: // DLT_EN10MB
      if (frame.length < 14) return undefined;
      ethertype = dv.getUint16(12);
      off = 14;
      while (ethertype === 0x8100 && off + 4 <= frame.length) {
        ethertype = dv.getUint16(off + 2);
        off += 4;
      }
      break;
    case 113: // DLT_LINUX_SLL
      if (frame.length < 16) return undefined;
      ethertype = dv.getUint16(14);
      off = 16;
      break;
    case 276: // DLT_LINUX_SLL2
      if (frame.length < 20) return undefined;
      ethertype = dv.getUint16(0);
      off = 20;
      break;
    case 101: // DLT_RAW
    case 12:
      if (frame.length < 1) return undefined;
      ethertype = (frame[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800;
      off = 0;
      break;
    default:
      throw new Error(`pcap: unsupported link type ${linkType}`);
  }
  if (ethertype !== 0x0800 && ethertype !== 0x86dd) return undefined;
  return { ethertype, ip: frame.subarray(off) };
}

function ipv6ToString(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

/** TCP segments of a capture, in capture order. */
export function tcpSegments(pcap: PcapFile): TcpSegment[] {
  const out: TcpSegment[] = [];
  for (const pkt of pcap.packets) {
    const l3 = ipPayload(pcap.linkType, pkt.data);
    if (!l3) continue;
    const ip = l3.ip;
    const dv = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
    let src: string;
    let dst: string;
    let tcp: Uint8Array;
    if (l3.ethertype === 0x0800) {
      if (ip.length < 20 || ip[9] !== 6) continue;
      const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
      const total = dv.getUint16(2);
      src = Array.from(ip.subarray(12, 16)).join('.');
      dst = Array.from(ip.subarray(16, 20)).join('.');
      tcp = ip.subarray(ihl, Math.min(total, ip.length));
    } else {
      if (ip.length < 40 || ip[6] !== 6) continue;
      const plen = dv.getUint16(4);
      src = ipv6ToString(ip.subarray(8, 24));
      dst = ipv6ToString(ip.subarray(24, 40));
      tcp = ip.subarray(40, Math.min(40 + plen, ip.length));
    }
    if (tcp.length < 20) continue;
    const tv = new DataView(tcp.buffer, tcp.byteOffset, tcp.byteLength);
    const dataOff = ((tcp[12] ?? 0) >> 4) * 4;
    out.push({
      tsMicros: pkt.tsMicros,
      src,
      dst,
      srcPort: tv.getUint16(0),
      dstPort: tv.getUint16(2),
      seq: tv.getUint32(4),
      flags: tcp[13] ?? 0,
      payload: tcp.subarray(dataOff),
    });
  }
  return out;
}

export interface TcpStream {
  /** Ordinal of the TCP connection in the capture (both directions share it). */
  readonly connection: number;
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  /** Reassembled bytes with the capture time of the segment that delivered each chunk. */
  readonly chunks: readonly { readonly offset: number; readonly tsMicros: number }[];
  readonly bytes: Uint8Array;
  /** Bytes missing from the capture (a gap stops reassembly of that direction). */
  readonly hasGap: boolean;
}

/** Reassemble each direction of each TCP connection (keyed by 4-tuple and SYN). */
export function reassemble(segments: readonly TcpSegment[]): TcpStream[] {
  interface Acc {
    src: string;
    srcPort: number;
    dst: string;
    dstPort: number;
    isn: number | undefined;
    segs: TcpSegment[];
  }
  const flows = new Map<string, Acc[]>();
  for (const s of segments) {
    const key = `${s.src}|${s.srcPort}|${s.dst}|${s.dstPort}`;
    let list = flows.get(key);
    if (!list) {
      list = [];
      flows.set(key, list);
    }
    let acc = list.at(-1);
    // A new SYN with a different ISN starts a new connection on the same 4-tuple.
    if (!acc || (s.flags & TCP_SYN && acc.isn !== undefined && acc.isn !== s.seq)) {
      acc = { src: s.src, srcPort: s.srcPort, dst: s.dst, dstPort: s.dstPort, isn: undefined, segs: [] };
      list.push(acc);
    }
    if (s.flags & TCP_SYN) acc.isn = s.seq;
    acc.segs.push(s);
  }
  // Number connections by the time of their first segment, one ordinal per direction pair.
  const connKey = (a: Acc): string => {
    const x = `${a.src}|${a.srcPort}`;
    const y = `${a.dst}|${a.dstPort}`;
    return `${x < y ? x : y}|${x < y ? y : x}|${a.isn === undefined ? '' : 'syn'}`;
  };
  const firstTs = new Map<string, number>();
  for (const list of flows.values()) {
    for (const acc of list) {
      const k = `${connKey(acc)}|${list.indexOf(acc)}`;
      const ts = acc.segs[0]?.tsMicros ?? 0;
      firstTs.set(k, Math.min(firstTs.get(k) ?? Infinity, ts));
    }
  }
  const ordinals = new Map([...firstTs.entries()].sort((a, b) => a[1] - b[1]).map(([k], i) => [k, i]));
  const streams: TcpStream[] = [];
  for (const list of flows.values()) {
    for (const acc of list) {
      const connection = ordinals.get(`${connKey(acc)}|${list.indexOf(acc)}`) ?? 0;
      const base = acc.isn !== undefined ? (acc.isn + 1) >>> 0 : acc.segs.find((s) => s.payload.length)?.seq;
      if (base === undefined) continue;
      const data = acc.segs
        .filter((s) => s.payload.length > 0)
        .map((s) => ({ rel: (s.seq - base) >>> 0, s }))
        .sort((a, b) => a.rel - b.rel || a.s.tsMicros - b.s.tsMicros);
      const parts: Uint8Array[] = [];
      const chunks: { offset: number; tsMicros: number }[] = [];
      let next = 0;
      let hasGap = false;
      for (const { rel, s } of data) {
        if (rel > next) {
          hasGap = true;
          break;
        }
        const end = rel + s.payload.length;
        if (end <= next) continue; // retransmission of bytes we have
        chunks.push({ offset: next, tsMicros: s.tsMicros });
        parts.push(s.payload.subarray(next - rel));
        next = end;
      }
      const bytes = new Uint8Array(next);
      let o = 0;
      for (const p of parts) {
        bytes.set(p, o);
        o += p.length;
      }
      streams.push({
        connection,
        src: acc.src,
        srcPort: acc.srcPort,
        dst: acc.dst,
        dstPort: acc.dstPort,
        chunks,
        bytes,
        hasGap,
      });
    }
  }
  return streams;
}

export interface BgpFrame {
  readonly connection: number;
  readonly src: string;
  readonly dst: string;
  readonly tsMicros: number;
  /** 1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH. */
  readonly type: number;
  /** The whole message, marker included. */
  readonly bytes: Uint8Array;
}

const MARKER = new Uint8Array(16).fill(0xff);

/**
 * Cut a reassembled stream into BGP messages using the header's length field. Throws on a bad
 * marker or a length below 19 (the stream is not BGP, or reassembly went wrong); a message cut
 * off by the end of the capture is dropped.
 */
export function splitBgp(stream: TcpStream): BgpFrame[] {
  const out: BgpFrame[] = [];
  const b = stream.bytes;
  let off = 0;
  let chunk = 0;
  while (off + 19 <= b.length) {
    for (let i = 0; i < 16; i++) {
      if (b[off + i] !== MARKER[i]) {
        throw new Error(`bgp: no marker at stream offset ${off} (${stream.src} → ${stream.dst})`);
      }
    }
    const len = ((b[off + 16] ?? 0) << 8) | (b[off + 17] ?? 0);
    if (len < 19) throw new Error(`bgp: length ${len} < 19 at stream offset ${off}`);
    if (off + len > b.length) break;
    while (chunk + 1 < stream.chunks.length && (stream.chunks[chunk + 1]?.offset ?? Infinity) <= off) chunk++;
    out.push({
      connection: stream.connection,
      src: stream.src,
      dst: stream.dst,
      tsMicros: stream.chunks[chunk]?.tsMicros ?? 0,
      type: b[off + 18] ?? 0,
      bytes: b.slice(off, off + len),
    });
    off += len;
  }
  return out;
}

/** All BGP messages (TCP port 179) of a capture, both directions, ordered by capture time. */
export function bgpMessagesFromPcap(buf: Uint8Array): BgpFrame[] {
  const streams = reassemble(tcpSegments(readPcap(buf))).filter(
    (s) => s.srcPort === 179 || s.dstPort === 179,
  );
  return streams.flatMap(splitBgp).sort((a, b) => a.tsMicros - b.tsMicros);
}
