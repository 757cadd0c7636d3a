// Tiering the ingest path up before the first session comes: V8 runs every function in its
// interpreter first and optimises it only after it has run a while.
//
// Intent: the first full table into a fresh process was taken at less than half the speed of the
// same table into a warm one (100k prefixes: ~70 ms cold against ~30 ms warm, most of it the
// Loc-RIB insert loop and the NLRI decoder still interpreted). A restart is exactly when full
// tables arrive — every peer resends its table — so the daemons (`margay speaker`, `margay
// agent`) run this once before they listen: a throwaway RIB with two eBGP peers takes blocks of
// synthetic prefixes of both families through the real codec (encoded by UpdateWriter, framed by
// FrameReader, decoded by decodeMessage) and the real RIB: new prefixes, the same prefixes again
// (unchanged), a second peer's paths (the decision process), exports to the other peer, withdrawals
// and a peer going down; then 2000 small UPDATEs, each with an attribute set of its own. It sends
// and installs nothing; everything it makes is garbage when it returns. The prefixes are from the
// benchmarking range 198.18.0.0/15 (RFC 2544) and 2001:db8::/32, and stay inside this function.
//
// Decisions:
// - A fixed amount of work (`prefixes`, default 10k per family, plus the small UPDATEs), not a
//   time budget, so the same code is optimised on every machine. Measured: a fresh process took
//   63 ms for 100k prefixes into the RIB with no warm-up, 45 ms after 5k, 36 ms after 10k or 20k,
//   30 ms warm (`node test/bench/bgp/ingest-local.ts --mode rib --n 100000 --warm-up K`).
// - The small UPDATEs are there because V8 optimises a function by how often it runs: the
//   per-prefix loops were optimised by the large blocks, but the per-UPDATE code (attribute
//   decoding and interning, the RIB's block entry points) ran ~100 times and was still
//   interpreted, then compiled during the first real table (`--trace-opt`).
// - The bytes reach the FrameReader in Buffers of one socket read, so the frames are Buffer views
//   (and Uint8Array copies across reads) as from a socket: the decoder optimised for Uint8Array
//   frames only was deoptimised at the first real frame (`--trace-deopt`: "wrong map").
// - The session layer is warmed after this by one loopback session into a throwaway Speaker
//   (session-warm-up.ts; the daemons call both through `warmUpSpeaker`). The REST API stays cold:
//   warming it with a few hundred requests at start changed nothing measurable.
// It costs ~0.2–0.4 s of CPU and ~20 MB of RSS at start.

import { Rib } from '../rib/rib.ts';
import { FrameReader } from '../wire/frame-reader.ts';
import { decodeMessage } from '../wire/messages.ts';
import { PrefixList } from '../wire/prefix-list.ts';
import {
  Afi,
  AsPathSegmentType,
  type CodecOptions,
  type Family,
  MAX_MESSAGE_LENGTH,
  Origin,
} from '../wire/types.ts';
import { UpdateWriter } from '../wire/update-writer.ts';

const LOCAL_ASN = 64_512;
const PEERS = [
  { id: '192.0.2.1', asn: 4_200_000_001 },
  { id: '192.0.2.2', asn: 4_200_000_002 },
] as const;
const CODEC: CodecOptions = {
  fourOctetAs: true,
  extendedMessages: false,
  addPathReceive: new Set<Family>(),
  addPathSend: new Set<Family>(),
  extendedNextHopIpv4: false,
};
/** Prefixes per UPDATE block: full 4096-byte messages, as a real table dump sends them. */
const BLOCK = 800;
/** Distinct attribute sets per peer in the large blocks. */
const SETS = 8;
/**
 * UPDATEs per family in the small-UPDATE phase, and prefixes in each. V8 optimises a function
 * after some hundreds of calls (Maglev) and again after some thousands (TurboFan); the
 * per-UPDATE code gets ~2000 calls here.
 */
export const SMALL_UPDATES: readonly (readonly [Family, number])[] = [
  ['ipv4-unicast', 1500],
  ['ipv6-unicast', 500],
];
const SMALL_BLOCK = 4;
/** Where the small-UPDATE phase's prefixes start: after the 2^16 of the large blocks. */
const SMALL_BASE = 1 << 16;
/** The size of one socket read (libuv reads up to 64 KiB at a time). */
const READ_SIZE = 65_536;

export interface WarmUpOptions {
  /** Prefixes per family (default 10 000). */
  readonly prefixes?: number;
}

/** What a warm-up did: it went through the real paths only if these add up (see the test). */
export interface WarmUpResult {
  readonly ms: number;
  /** Prefixes in the Loc-RIB after the first peer's table, both families. */
  readonly learned: number;
  /** Prefixes announced to the peers by the exports (each peer's Adj-RIB-Out). */
  readonly exported: number;
  /** Prefixes withdrawn from the peers by the exports. */
  readonly withdrawn: number;
  /** Prefixes left in the Loc-RIB at the end: none. */
  readonly left: number;
}

/** Runs the ingest path until V8 has optimised it. */
export function warmUp(options: WarmUpOptions = {}): WarmUpResult {
  const t0 = performance.now();
  // At most the 2^17 /32s of 198.18.0.0/15.
  const n = Math.min(options.prefixes ?? 10_000, 1 << 17);
  const rib = new Rib({ routerId: '192.0.2.254' });
  for (const p of PEERS) {
    rib.addPeer({
      id: p.id,
      address: p.id,
      asn: p.asn,
      localAsn: LOCAL_ASN,
      families: ['ipv4-unicast', 'ipv6-unicast'],
      localAddressV4: '192.0.2.254',
      localAddressV6: '2001:db8::fe',
    });
    rib.peerUp(p.id, { routerId: p.id });
  }
  const [first, second] = PEERS;
  const counts = { learned: 0, exported: 0, withdrawn: 0 };
  for (const family of ['ipv4-unicast', 'ipv6-unicast'] as const) {
    const blocks = prefixBlocks(family, n);
    // New prefixes, then the same again (no change).
    const reach = blocks.flatMap((list, b) => encodeReach(family, list, first.asn, [], b % SETS));
    const before = rib.prefixCount;
    feed(rib, first.id, reach);
    counts.learned += rib.prefixCount - before;
    feed(rib, first.id, reach);
    // A longer second path for the prefixes of one block (the decision process keeps the first).
    feed(rib, second.id, encodeReach(family, blocks[0] as PrefixList, second.asn, [64_600], 0));
    drainExports(rib, family, counts);
    // Withdrawn by UPDATE (the first peer's): the second peer's paths become best for one block.
    feed(
      rib,
      first.id,
      blocks.flatMap((list) => encodeWithdraw(family, list)),
    );
    drainExports(rib, family, counts);
  }
  // Then many small UPDATEs, each with an attribute set of its own, as the first table of a
  // real peer often arrives: the per-UPDATE code (attribute decoding and interning, the RIB's
  // block entry points) runs once per UPDATE, and the large blocks above call it too few times
  // for V8 to optimise it.
  for (const [family, updates] of SMALL_UPDATES) {
    const reach: Uint8Array[] = [];
    const withdraw: Uint8Array[] = [];
    for (let u = 0; u < updates; u++) {
      const list = smallBlock(family, u);
      reach.push(
        ...encodeReach(family, list, first.asn, [64_600 + (u % 5), 64_700 + (u % 3)].slice(0, u % 3), u),
      );
      withdraw.push(...encodeWithdraw(family, list));
    }
    const before = rib.prefixCount;
    feed(rib, first.id, reach);
    counts.learned += rib.prefixCount - before;
    drainExports(rib, family, counts);
    feed(rib, first.id, withdraw);
    drainExports(rib, family, counts);
  }
  rib.peerDown(second.id);
  rib.peerDown(first.id);
  return { ms: performance.now() - t0, ...counts, left: rib.prefixCount };
}

/** `n` distinct prefixes of the family in blocks of BLOCK (see `block`). */
export function prefixBlocks(family: Family, n: number): PrefixList[] {
  const blocks: PrefixList[] = [];
  for (let i = 0; i < n; i += BLOCK) blocks.push(block(family, i, Math.min(n, i + BLOCK)));
  return blocks;
}

/** The u-th block of SMALL_BLOCK prefixes of the small-UPDATE phase. */
export function smallBlock(family: Family, u: number): PrefixList {
  const from = SMALL_BASE + u * SMALL_BLOCK;
  return block(family, from, from + SMALL_BLOCK);
}

/** Prefixes number `from` to `to` − 1 of the family: /32s of 198.18.0.0/15, /64s of 2001:db8::/32. */
function block(family: Family, from: number, to: number): PrefixList {
  const afi = family === 'ipv4-unicast' ? Afi.ipv4 : Afi.ipv6;
  const list = new PrefixList(afi, to - from);
  const v6 = new Uint32Array(4);
  for (let k = from; k < to; k++) {
    if (afi === Afi.ipv4) {
      list.pushIpv4((0xc6120000 + k) >>> 0, 32);
    } else {
      v6[0] = 0x20010db8;
      v6[1] = k;
      list.push(v6, 0, 64);
    }
  }
  return list;
}

/** One UpdateWriter for every message of a warm-up (each holds two 4 KiB buffers). */
let shared: UpdateWriter | undefined;
const writer = (): UpdateWriter => {
  shared ??= new UpdateWriter(CODEC);
  return shared;
};

export function encodeReach(
  family: Family,
  list: PrefixList,
  asn: number,
  path: number[],
  set: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const attrs = {
    origin: Origin.igp,
    asPath: [{ type: AsPathSegmentType.sequence, asns: [asn, ...path] }],
    med: set,
    communities: [(LOCAL_ASN * 65_536 + set) >>> 0],
  };
  const nextHop = family === 'ipv4-unicast' ? '192.0.2.1' : '2001:db8::1';
  writer().packAll(
    list,
    (w) => w.beginReach(attrs, family, nextHop),
    (update) => out.push(update),
  );
  return out;
}

function encodeWithdraw(family: Family, list: PrefixList): Uint8Array[] {
  const out: Uint8Array[] = [];
  writer().packAll(
    list,
    (w) => w.beginWithdraw(family),
    (update) => out.push(update),
  );
  return out;
}

/**
 * The messages through a FrameReader and the decoder into the RIB, as a session does: in Buffers
 * of one socket read each, so that the frames are what a socket gives (Buffer views of a read,
 * and a Uint8Array copy for a message that spans two reads). Code V8 optimised for one kind of
 * array only is thrown away at the first frame of the other kind.
 */
function feed(rib: Rib, peerId: string, messages: readonly Uint8Array[]): void {
  const reader = new FrameReader(MAX_MESSAGE_LENGTH);
  const stream = Buffer.concat(messages);
  for (let at = 0; at < stream.length; at += READ_SIZE) {
    reader.push(stream.subarray(at, at + READ_SIZE));
    for (let f = reader.next(); f !== null; f = reader.next()) {
      const message = decodeMessage(f, CODEC);
      if (message.type !== 'update') throw new Error(`warm-up: decoded a ${message.type}`);
      rib.applyUpdate(peerId, message);
    }
  }
}

function drainExports(rib: Rib, family: Family, counts: { exported: number; withdrawn: number }): void {
  for (const p of PEERS) {
    for (;;) {
      const batch = rib.takePending(p.id, family);
      counts.withdrawn += batch.withdrawn.length;
      for (const group of batch.announced) counts.exported += group.prefixes.length;
      if (!batch.hasMore) break;
    }
  }
}
