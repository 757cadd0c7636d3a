// The second half of the start-up warm-up (warm-up.ts): one real BGP session over loopback into
// a throwaway Speaker, so that the code between the socket and the RIB is optimised before the
// first peer comes too.
//
// Intent: `warmUp` takes synthetic UPDATEs straight into a RIB, and after it the decoder and the
// RIB ran at warm speed, but a fresh `margay speaker` still spent ~57 ms of main-thread CPU on
// the 100k-prefix ingest benchmark: `--trace-opt` showed ~30 functions compiled for the first
// time during the real table — the Connection's drain loop, PeerSession, the FSM step, Speaker's
// UPDATE handler, the peer status the API reads — and the decoder and RIB entry points
// deoptimised once ("wrong call target", "insufficient type feedback") because only the session
// calls them that way. With this session first: ~41–44 ms, measured in the same minutes
// (`npm run bench -- bgp-ingest --n 100000 --receivers bird,margay`, main-thread CPU).
//
// What it does: a Speaker listening on 127.0.0.1 (a free port) with one passive peer, 127.0.0.1;
// a plain socket, no second speaker, sends it pre-encoded OPEN and KEEPALIVE, then once the
// session is Established 2000 small UPDATEs (each with an attribute set of its own) and some
// large ones of both families, as one stream; the peer status is polled, as the REST API does,
// until every prefix is accepted; the speaker is stopped, which tears the session down and drops
// the paths. ~90 ms and ~4 MB of RSS on this machine.
//
// Decisions:
// - A raw client rather than a second Speaker: a speaker pair was tried before and cost ~0.5 s
//   and 40–100 MB of RSS that V8 kept; the sending side needs no code of ours warm.
// - Run before the daemon subscribes its logger to the speaker's diagnostics channels: this
//   session is not one an operator should see in the log.
// - Never fatal. Where 127.0.0.1 cannot be used (a namespace whose loopback is down) or anything
//   else fails or takes more than TIMEOUT_MS, it gives up, says why in `skipped`, and leaves
//   nothing running: the daemon starts as it would have, its first table just costs more.

import { connect, type Socket } from 'node:net';
import { encodeKeepalive } from '../wire/messages.ts';
import { encodeOpen } from '../wire/open.ts';
import { Afi, AS_TRANS, type Family, Safi } from '../wire/types.ts';
import { Speaker } from './speaker.ts';
import {
  encodeReach,
  prefixBlocks,
  SMALL_UPDATES,
  smallBlock,
  type WarmUpResult,
  warmUp,
} from './warm-up.ts';

const LOOPBACK = '127.0.0.1';
const LOCAL_ASN = 64_512;
/** The client's AS: above 65535, so the 4-octet AS path code runs (AS_TRANS in the OPEN). */
const CLIENT_ASN = 4_200_000_001;
/** Prefixes per family in the large UPDATEs (warm-up.ts's blocks of 800). */
const LARGE_PREFIXES = 2_000;
const TIMEOUT_MS = 5_000;
const POLL_MS = 2;

export interface SessionWarmUpResult {
  readonly ms: number;
  /** Prefixes the throwaway speaker accepted from the session (all that were sent, unless skipped). */
  readonly accepted: number;
  readonly sent: number;
  /** Why the session could not be run; the daemon starts anyway (see the file header). */
  readonly skipped?: string;
}

/**
 * Runs one loopback session into a throwaway speaker. What the machine does not allow is
 * reported in `skipped`, not thrown.
 */
export async function warmUpSession(): Promise<SessionWarmUpResult> {
  const t0 = performance.now();
  const deadline = t0 + TIMEOUT_MS;
  const { stream, prefixes } = encodeStream();
  const speaker = new Speaker({
    asn: LOCAL_ASN,
    routerId: '192.0.2.254',
    listen: { address: LOOPBACK, port: 0 },
  });
  let socket: Socket | undefined;
  let accepted = 0;
  let skipped: string | undefined;
  try {
    speaker.setPeers([
      {
        address: LOOPBACK,
        asn: CLIENT_ASN,
        passive: true,
        holdTime: 90,
        families: ['ipv4-unicast', 'ipv6-unicast'],
      },
    ]);
    await speaker.start();
    const client = await connectTo(speaker.listenPorts[0] as number, deadline);
    socket = client;
    client.write(stream.open);
    await until(deadline, 'Established', client, () => speaker.peers()[0]?.state === 'Established');
    client.write(stream.updates);
    await until(deadline, `${prefixes} prefixes accepted`, client, () => {
      accepted = speaker.peers()[0]?.prefixes.accepted ?? 0;
      return accepted >= prefixes;
    });
  } catch (err) {
    skipped = err instanceof Error ? err.message : String(err);
  } finally {
    socket?.destroy();
    await speaker.stop().catch(() => undefined);
  }
  return {
    ms: performance.now() - t0,
    accepted,
    sent: prefixes,
    ...(skipped !== undefined && { skipped }),
  };
}

/** The client's bytes: OPEN and KEEPALIVE, then every UPDATE; and how many prefixes they carry. */
function encodeStream(): { stream: { open: Buffer; updates: Buffer }; prefixes: number } {
  const open = encodeOpen({
    version: 4,
    myAsn: AS_TRANS,
    holdTime: 90,
    bgpId: '192.0.2.1',
    capabilities: [
      { kind: 'multiprotocol', afi: Afi.ipv4, safi: Safi.unicast },
      { kind: 'multiprotocol', afi: Afi.ipv6, safi: Safi.unicast },
      { kind: 'routeRefresh' },
      { kind: 'fourOctetAs', asn: CLIENT_ASN },
    ],
  });
  const updates: Uint8Array[] = [];
  let prefixes = 0;
  for (const [family, count] of SMALL_UPDATES) {
    for (let u = 0; u < count; u++) {
      const list = smallBlock(family, u);
      // Paths of one to three ASes, as from a peer's own and its customers' routes.
      updates.push(...encodeReach(family, list, CLIENT_ASN, [64_600 + (u % 5), 64_700].slice(0, u % 3), u));
      prefixes += list.length;
    }
  }
  for (const family of ['ipv4-unicast', 'ipv6-unicast'] as const satisfies readonly Family[]) {
    for (const [b, list] of prefixBlocks(family, LARGE_PREFIXES).entries()) {
      updates.push(...encodeReach(family, list, CLIENT_ASN, [], b));
      prefixes += list.length;
    }
  }
  return {
    stream: { open: Buffer.concat([open, encodeKeepalive()]), updates: Buffer.concat(updates) },
    prefixes,
  };
}

function connectTo(port: number, deadline: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port, localAddress: LOOPBACK });
    const timer = setTimeout(
      () => {
        socket.destroy();
        reject(new Error(`no connection to ${LOOPBACK}:${port} within ${TIMEOUT_MS} ms`));
      },
      Math.max(0, deadline - performance.now()),
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      // What the speaker sends (its OPEN, KEEPALIVEs) is read and dropped.
      socket.on('data', () => undefined);
      resolve(socket);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`loopback session: ${err.message}`));
    });
  });
}

/** Polls `done` every POLL_MS until it is true; throws at the deadline or once `client` is closed. */
async function until(deadline: number, what: string, client: Socket, done: () => boolean): Promise<void> {
  while (!done()) {
    if (client.closed) throw new Error(`the throwaway speaker closed the loopback session before ${what}`);
    if (performance.now() > deadline) throw new Error(`no ${what} within ${TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Both halves of the daemons' start-up warm-up: the RIB's (warm-up.ts), then the session's. */
export async function warmUpSpeaker(): Promise<{ rib: WarmUpResult; session: SessionWarmUpResult }> {
  const rib = warmUp();
  return { rib, session: await warmUpSession() };
}
