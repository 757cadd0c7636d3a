// The BGP speaker: configured peers (one PeerSession each), listeners, the RIB, the output pumps
// and graceful restart, behind a declarative API (callers hand over the whole desired set; the
// speaker diffs it against what it runs):
//
//   const speaker = new Speaker({ asn, routerId, listen: { address: '::', port: 179 } });
//   speaker.setPeers(peers);            // the whole desired set; diffed by address
//   speaker.setLocalRoutes(routes);     // the whole desired set of announcements
//   speaker.on('bestPathChanged', (e) => …);
//   await speaker.start();
//   speaker.peers(); speaker.routes({ prefix });
//   await speaker.stop({ message: 'restarting' });    // graceful: peers keep our routes (RFC 8538)
//   await speaker.stop({ message: 'removed', hardReset: true });  // peers flush them now
//
// One owner mutates everything, synchronously, on the event loop, so no state is ever seen
// half-changed and nothing needs a lock: socket input is decoded and applied to the RIB as it
// arrives; output is pulled from the RIB by each session's ExportPump when its socket can take it,
// so nothing queues up behind a slow peer. The speaker never logs: it emits typed events and
// publishes on node:diagnostics_channel (diagnostics.ts).
//
// RIB peers are per session, not per configured peer: each Established session registers the
// peer under a fresh id `address#n`. That makes "drop everything of the old session" one
// removePeer — deferred and sliced (flusher.ts), so a new session of the same peer can fill
// while the old one's table drains — and lets graceful restart keep an old session's routes
// while the new session refills (graceful-restart.ts).
//
// Stopping (RFC 8538 §5.1, N bit exchanged with the peer): a graceful stop (a restart) sends
// Cease / Administrative Reset — the subcode the RFC leaves to user control — so the peer keeps
// our routes as stale until we are back and have sent End-of-RIB (or its restart timer for us
// runs out); a hard stop sends Cease / Hard Reset encapsulating Cease / Administrative Shutdown,
// and the peer flushes at once. A peer that negotiated graceful restart without N flushes on any
// NOTIFICATION (RFC 4724 §4.2): a graceful stop closes its TCP connection without one, so it
// keeps our routes as a helper; a hard stop sends it Administrative Shutdown. Peers without
// graceful restart get Administrative Shutdown either way. Removing a peer (Peer De-configured)
// and Maximum Number of Prefixes Reached are Hard Resets too (PeerSession.stop, §5.1); a
// reconfigured peer gets Other Configuration Change, a graceful Cease: it keeps our routes until
// the new session's End-of-RIB, while its routes here are flushed (the new entry is a new peer).
//
// Prefix limits (max-prefix.ts): after each UPDATE the received count of each limited family is
// compared with its limit. `warn` publishes once per crossing (again only after the count fell
// back to the limit, or in a later session) and counts. `teardown` stops the session with Cease /
// Maximum Number of Prefixes Reached carrying AFI, SAFI and the limit (RFC 4486 §4), as a
// ManualStop, so the FSM schedules no automatic restart of its own; the peer is held Idle for the
// hold time, incoming connections from it are refused meanwhile, and then it starts again. A
// change of its maxPrefix releases a held peer at once (the operator raised the limit or removed
// it) and applies to the running session without a reset.
//
// Restarting side (RFC 4724 §4.1): with `gracefulRestartRestarting` the OPEN carries the R bit
// until the first session with that peer is Established; later OPENs (a flap) do not.
import type { Socket } from 'node:net';
import { SpeakerBfd } from '../bfd/peers.ts';
import { BgpError } from '../errors.ts';
import type { DownReason } from '../fsm/index.ts';
import { describeNotification } from '../fsm/index.ts';
import { type BestPathChanged, Dest, Rib } from '../rib/index.ts';
import { pathView } from '../rib/snapshot.ts';
import { canonicalAddress } from '../session/address.ts';
import { Listener } from '../session/listener.ts';
import { buildLocalOpen } from '../session/local-open.ts';
import {
  MD5_MISMATCH_SUSPECTED,
  type Md5Counters,
  md5MismatchSuspected,
  readMd5Counters,
} from '../session/md5-counters.ts';
import { type EstablishedSession, PeerSession, type PeerSessionHost } from '../session/peer-session.ts';
import { HOST_TIMERS, type HostTimers } from '../session/session-types.ts';
import { applyTcpSecurity, descriptorOf, savedSynTtl } from '../session/sockopt.ts';
import {
  afiSafiOf,
  CeaseSubcode,
  type Family,
  familyOf,
  type LongLivedGracefulRestartCapability,
  type Negotiated,
  type OpenMessage,
  type UpdateMessage,
} from '../wire/index.ts';
import { channels } from './diagnostics.ts';
import { TypedEmitter } from './emitter.ts';
import { RibFlusher } from './flusher.ts';
import { isGracefulEnd, StaleRoutes } from './graceful-restart.ts';
import { checkLocalRoutes } from './local-routes.ts';
import { maxPrefixData, nextHold, type PrefixLimitRule } from './max-prefix.ts';
import { needsReset, type ResolvedPeer, resolvePeers, tcpSecurityOf } from './peer-config.ts';
import { ExportPump } from './pump.ts';
import type {
  BestPathChange,
  ListenAddress,
  LocalRoute,
  PathView,
  PeerConfig,
  PeerStatus,
  PrefixLimitStatus,
  RouteFilter,
  SpeakerEvents,
  SpeakerOptions,
} from './types.ts';
import { formatCapabilities, type PathViewContext, toPathView } from './views.ts';

const DEFAULT_LISTEN: ListenAddress = { address: '::', port: 179 };
const DEFAULT_RESTART_TIME = 120;
const DEFAULT_STALE_PATH_TIME = 360;

interface PeerEntry {
  resolved: ResolvedPeer;
  readonly session: PeerSession;
  /** The OPEN we send; loses the R bit once the session after our restart is up. */
  localOpen: OpenMessage;
  /** The RIB peer of the Established session, or null. */
  ribId: string | null;
  pump: ExportPump | null;
  /** What the last Established session negotiated (kept after it ends, for graceful restart). */
  negotiated: Negotiated | null;
  /** When the current session became Established (monotonic ms), or null. */
  establishedAt: number | null;
  readonly limits: LimitState;
}

interface LimitState {
  /** Families of the current session above a `warn` limit: warned once, until they drop back. */
  readonly over: Set<Family>;
  /** Teardowns and warnings per `family action limit`. */
  readonly exceeded: Map<string, number>;
  /** Teardowns in a row, for the doubling of the hold (max-prefix.ts nextHold). */
  repeats: number;
  held: (NonNullable<PrefixLimitStatus['heldIdle']> & { timer: unknown }) | null;
}

export class Speaker {
  readonly #options: SpeakerOptions;
  readonly #rib: Rib;
  readonly #emitter = new TypedEmitter<SpeakerEvents>();
  readonly #peers = new Map<string, PeerEntry>();
  /** RIB peer id → entry, for the sessions that are Established. */
  readonly #byRibId = new Map<string, PeerEntry>();
  /** RIB peer id → address, for every RIB peer that exists (Established or stale). */
  readonly #ribAddress = new Map<string, string>();
  readonly #stale: StaleRoutes;
  /** Removes lost sessions' RIB peers without stalling the event loop (flusher.ts). */
  readonly #flusher: RibFlusher;
  readonly #listenAddresses: readonly ListenAddress[];
  readonly #listeners: Listener[] = [];
  /** Per peer address: the TCP-MD5 drop counters when it was configured or last Established. */
  readonly #md5Since = new Map<string, Md5Counters>();
  /** The BFD sessions of the peers with PeerConfig.bfd. */
  readonly #bfd: SpeakerBfd;
  /** Sessions being stopped after removal or reconfiguration. */
  readonly #stopping = new Set<Promise<void>>();
  readonly #now: () => number;
  readonly #wallClock: () => number;
  readonly #timers: HostTimers;
  readonly #random: () => number;
  #generation = 0;
  /** Addresses whose session has been Established since start: their OPENs carry no R bit. */
  readonly #upSinceStart = new Set<string>();
  #isStarted = false;
  #isStopped = false;

  constructor(options: SpeakerOptions) {
    if (!Number.isInteger(options.asn) || options.asn < 1 || options.asn > 0xffffffff) {
      throw new BgpError('BGP_ERR_INVALID_CONFIG', `asn ${options.asn} is not in 1..4294967295`);
    }
    const restart = options.gracefulRestartTime ?? DEFAULT_RESTART_TIME;
    if (!Number.isInteger(restart) || restart < 0 || restart > 4095) {
      throw new BgpError(
        'BGP_ERR_INVALID_CONFIG',
        `gracefulRestartTime ${restart} is not in 0..4095 (RFC 4724 §3)`,
      );
    }
    this.#options = options;
    this.#now = options.clock ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? Date.now;
    this.#timers = options.timers ?? HOST_TIMERS;
    this.#random = options.random ?? Math.random;
    this.#bfd = new SpeakerBfd({
      onDown: (address, reason) => this.#onBfdDown(address, reason),
      warn: (address, reason) => this.#warn(address, reason),
    });
    this.#rib = new Rib({
      routerId: options.routerId,
      ...(options.clusterId !== undefined && { clusterId: options.clusterId }),
      ...(options.alwaysCompareMed !== undefined && { alwaysCompareMed: options.alwaysCompareMed }),
      ...(options.maxPaths !== undefined && { maxPaths: options.maxPaths }),
      onExportPending: (ribId, family) => this.#byRibId.get(ribId)?.pump?.schedule(family),
    });
    this.#flusher = new RibFlusher({
      rib: this.#rib,
      onRemoved: (ribId) => this.#ribAddress.delete(ribId),
    });
    this.#stale = new StaleRoutes({
      rib: this.#rib,
      stalePathTime: options.gracefulRestartStalePathTime ?? DEFAULT_STALE_PATH_TIME,
      removePeer: (ribId) => this.#flusher.removePeer(ribId),
      timers: this.#timers,
    });
    const listen = options.listen === undefined ? [DEFAULT_LISTEN] : options.listen;
    this.#listenAddresses = listen === null ? [] : Array.isArray(listen) ? listen : [listen as ListenAddress];
  }

  // ---- events ---------------------------------------------------------------------------

  on<K extends keyof SpeakerEvents>(name: K, listener: (event: SpeakerEvents[K]) => void): this {
    this.#emitter.on(name, listener);
    if (name === 'bestPathChanged') this.#updateBestPathListener();
    return this;
  }

  off<K extends keyof SpeakerEvents>(name: K, listener: (event: SpeakerEvents[K]) => void): this {
    this.#emitter.off(name, listener);
    if (name === 'bestPathChanged') this.#updateBestPathListener();
    return this;
  }

  /**
   * The RIB builds a bestPathChanged event per changed prefix only while somebody listens: a
   * full table into a speaker nobody subscribed to (`margay speaker`) allocates nothing for it.
   */
  #updateBestPathListener(): void {
    const isWanted = this.#emitter.listenerCount('bestPathChanged') > 0;
    this.#rib.setBestPathListener(isWanted ? (event) => this.#onBestPathChanged(event) : undefined);
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /** Opens the listeners and starts every configured session. Throws BGP_ERR_LISTEN. */
  async start(): Promise<void> {
    if (this.#isStarted) return;
    if (this.#isStopped)
      throw new BgpError('BGP_ERR_INVALID_CONFIG', 'a stopped speaker cannot be started again');
    try {
      for (const { address, port } of this.#listenAddresses) {
        const listener = new Listener({
          address,
          port,
          accept: (remoteAddress, socket) => this.#accept(remoteAddress, socket),
          refused: (info) => channels.connectionRefused.publish(info),
        });
        await listener.start();
        this.#listeners.push(listener);
        this.#secureListener(listener);
      }
    } catch (err) {
      await Promise.all(this.#listeners.map((l) => l.close()));
      this.#listeners.length = 0;
      throw err;
    }
    this.#isStarted = true;
    for (const entry of this.#peers.values()) entry.session.start();
    this.#bfd.start();
  }

  /**
   * Ends every session, then closes listeners and connections and stops every timer: afterwards
   * the speaker holds no handle that keeps the process alive. Default (a restart): each peer
   * that can keep our routes as stale until we are back is left doing so — Cease /
   * Administrative Reset with the RFC 9003 `message` to peers that exchanged the RFC 8538 N bit;
   * a TCP close without NOTIFICATION to peers that negotiated graceful restart without N (a
   * Cease would make them flush, RFC 4724 §4.2) — and the others get Cease / Administrative
   * Shutdown. `hardReset` (the peering ends for good, e.g. the node is removed): Cease / Hard
   * Reset to peers with N, Cease / Administrative Shutdown to the rest; they all flush at once.
   */
  async stop(options: { readonly message?: string; readonly hardReset?: boolean } = {}): Promise<void> {
    if (this.#isStopped) return;
    this.#isStopped = true;
    const closing: Promise<void>[] = this.#listeners.map((l) => l.close());
    const sessions: Promise<void>[] = [];
    for (const entry of this.#peers.values()) {
      const negotiated = entry.session.session?.negotiated;
      const isRestart = options.hardReset !== true && negotiated !== undefined;
      const isGraceful = isRestart && negotiated.gracefulNotification;
      const isSilent = isRestart && !isGraceful && this.#helperKeepsRoutes(entry, negotiated);
      sessions.push(
        entry.session.stop({
          // RFC 8538 §5.1: Administrative Reset is the graceful Cease ("provide user control");
          // Administrative Shutdown becomes a Hard Reset in PeerSession when N was exchanged.
          subcode: isGraceful ? CeaseSubcode.administrativeReset : CeaseSubcode.administrativeShutdown,
          ...(options.message !== undefined && { message: options.message }),
          ...(isSilent && { silent: true }),
        }),
      );
    }
    for (const entry of this.#peers.values()) this.#release(entry, false);
    // AdminDown once the BGP sessions have ended, so that a peer which takes its BGP session down
    // on any BFD down (BIRD's `bfd on`) has already seen the session end the way graceful restart
    // covers (a bare close or a graceful Cease) and keeps our routes.
    closing.push(Promise.all(sessions).then(() => this.#bfd.close()));
    this.#stale.clear();
    closing.push(...this.#stopping);
    await Promise.all(closing);
    this.#flusher.finish();
  }

  /**
   * Whether the peer of `entry`'s Established session keeps our routes when the session ends
   * without a NOTIFICATION (RFC 4724 §4.2): both OPENs carried the Graceful Restart capability
   * (ours does when we have a restart or long-lived stale time to offer).
   */
  #helperKeepsRoutes(entry: PeerEntry, negotiated: Negotiated): boolean {
    return (
      negotiated.gracefulRestart !== undefined &&
      entry.localOpen.capabilities.some((c) => c.kind === 'gracefulRestart')
    );
  }

  /** The ports the listeners are bound to (useful with port 0), in `listen` order. */
  get listenPorts(): readonly number[] {
    return this.#listeners.map((l) => l.port);
  }

  // ---- declarative configuration --------------------------------------------------------

  /**
   * The whole desired set of peers, diffed by address: new peers start; removed ones get
   * Cease / Peer De-configured (RFC 4486 subcode 3); changed ones Cease / Other Configuration
   * Change (subcode 6) and restart with the new settings; a description change applies at
   * once. Throws BGP_ERR_INVALID_CONFIG (and changes nothing) when a peer is invalid.
   */
  setPeers(desired: readonly PeerConfig[]): void {
    const next = resolvePeers(desired);
    for (const [address, entry] of this.#peers) {
      if (!next.has(address)) this.#removeEntry(entry, CeaseSubcode.peerDeconfigured);
    }
    for (const [address, resolved] of next) {
      const entry = this.#peers.get(address);
      if (entry === undefined) {
        this.#addEntry(resolved);
      } else if (needsReset(entry.resolved, resolved)) {
        this.#removeEntry(entry, CeaseSubcode.otherConfigurationChange);
        this.#addEntry(resolved);
      } else {
        const isLimitChanged =
          JSON.stringify(entry.resolved.config.maxPrefix) !== JSON.stringify(resolved.config.maxPrefix);
        entry.resolved = resolved;
        this.#bfd.set(address, resolved.config.bfd, resolved.config.localAddress);
        if (isLimitChanged) this.#limitsChanged(entry);
      }
    }
  }

  /**
   * The whole desired set of locally originated routes. Throws BGP_ERR_INVALID_CONFIG (and
   * changes nothing) when a route is invalid: not a prefix, listed twice, a next hop that is no
   * address, or an attribute value that does not fit its field (local-routes.ts); the message
   * names the route and the field.
   */
  setLocalRoutes(routes: readonly LocalRoute[]): void {
    checkLocalRoutes(routes);
    this.#rib.setLocalRoutes(routes);
  }

  // ---- status ---------------------------------------------------------------------------

  peers(): PeerStatus[] {
    const out: PeerStatus[] = [];
    // The counters matter only for a peer that is not Established: with every session up (the
    // usual state, and the status is read often) /proc is not read.
    let down = false;
    for (const entry of this.#peers.values()) down ||= entry.session.state !== 'Established';
    const md5 = down ? readMd5Counters() : undefined;
    for (const entry of this.#peers.values()) out.push(this.#status(entry, md5));
    return out;
  }

  /**
   * Paths in the Loc-RIB (every path of each prefix, best first), filtered. With `limit`, one
   * page of at most `limit` prefixes; `after` (the last prefix of the previous page) continues
   * the listing, and a page with fewer prefixes is the last (Rib.listRoutes). Throws
   * BGP_ERR_INVALID_CONFIG for a bad `limit` or an `after` the listing cannot continue from.
   */
  routes(filter: RouteFilter = {}): PathView[] {
    const ctx: PathViewContext = {
      addressOf: (ribId) => this.#ribAddress.get(ribId) ?? ribId,
      isStale: (ribId) => this.#stale.isStale(ribId),
    };
    let fromPeers: (string | null)[] | undefined;
    if (filter.peer === 'local') {
      fromPeers = [null];
    } else if (filter.peer !== undefined) {
      // Every RIB peer of the address: the current session's and a graceful-restart stale one.
      const address = canonicalAddress(filter.peer);
      fromPeers = [];
      for (const [ribId, a] of this.#ribAddress) if (a === address) fromPeers.push(ribId);
      if (fromPeers.length === 0) return [];
    }
    const out: PathView[] = [];
    const routes = this.#rib.listRoutes({
      ...(filter.prefix !== undefined && { prefix: filter.prefix }),
      ...(filter.family !== undefined && { family: filter.family }),
      ...(fromPeers !== undefined && { fromPeers }),
      ...(filter.limit !== undefined && { limit: filter.limit }),
      ...(filter.after !== undefined && { after: filter.after }),
    });
    for (const route of routes) for (const p of route.paths) out.push(toPathView(route, p, ctx));
    return out;
  }

  /**
   * RFC 2918: asks `peer` to resend `family` (its Adj-RIB-Out) with a ROUTE-REFRESH. False when
   * the session is not Established, the family was not negotiated, or the peer did not
   * advertise the Route Refresh capability.
   */
  refresh(peer: string, family: Family): boolean {
    const entry = this.#peers.get(canonicalAddress(peer));
    const s = entry?.session.session;
    if (entry === undefined || s === null || s === undefined || !s.negotiated.families.includes(family)) {
      return false;
    }
    const { afi, safi } = afiSafiOf(family);
    return entry.session.requestRefresh(afi, safi);
  }

  // ---- peers ----------------------------------------------------------------------------

  #localOpen(resolved: ResolvedPeer): OpenMessage {
    const o = this.#options;
    return buildLocalOpen({
      asn: o.asn,
      routerId: o.routerId,
      holdTime: resolved.fsm.holdTime,
      families: resolved.families,
      isIpv6Transport: resolved.isIpv6,
      gracefulRestartTime:
        resolved.config.gracefulRestart?.restartTime ?? o.gracefulRestartTime ?? DEFAULT_RESTART_TIME,
      longLivedStaleTime: resolved.config.gracefulRestart?.longLivedStaleTime ?? 0,
      forwardingPreserved: o.gracefulRestartForwardingPreserved ?? false,
      // RFC 4724 §4.1: R in the OPEN after our restart, until that session is up.
      isRestarting: o.gracefulRestartRestarting === true && !this.#upSinceStart.has(resolved.address),
      gracefulNotification: o.gracefulNotification ?? true,
      ...(o.hostname !== undefined && { hostname: o.hostname }),
      ...(resolved.config.addPaths !== undefined && { addPaths: resolved.config.addPaths }),
    });
  }

  #addEntry(resolved: ResolvedPeer): void {
    const o = this.#options;
    const localOpen = this.#localOpen(resolved);
    const security = tcpSecurityOf(resolved.config);
    let entry: PeerEntry | undefined;
    const host = this.#host(() => entry as PeerEntry);
    const session = new PeerSession({
      address: resolved.address,
      port: resolved.port,
      ...(resolved.config.localAddress !== undefined && { localAddress: resolved.config.localAddress }),
      ...(security !== undefined && { security }),
      peerAsn: resolved.config.asn,
      localAsn: o.asn,
      routerId: o.routerId,
      fsm: resolved.fsm,
      open: localOpen,
      now: this.#now,
      wallClock: this.#wallClock,
      timers: this.#timers,
      random: this.#random,
      host,
    });
    entry = {
      resolved,
      session,
      localOpen,
      ribId: null,
      pump: null,
      negotiated: null,
      establishedAt: null,
      limits: { over: new Set(), exceeded: new Map(), repeats: 0, held: null },
    };
    this.#peers.set(resolved.address, entry);
    this.#bfd.set(resolved.address, resolved.config.bfd, resolved.config.localAddress);
    this.#md5Restart(resolved.address);
    for (const listener of this.#listeners) this.#secureListener(listener);
    if (this.#isStarted && !this.#isStopped) session.start();
  }

  #removeEntry(entry: PeerEntry, subcode: number): void {
    this.#peers.delete(entry.resolved.address);
    this.#md5Since.delete(entry.resolved.address);
    this.#bfd.set(entry.resolved.address, undefined, undefined);
    for (const listener of this.#listeners) this.#secureListener(listener);
    this.#release(entry, false);
    const stopped = entry.session.stop({ subcode });
    this.#stale.drop(entry.resolved.address);
    this.#stopping.add(stopped);
    void stopped.then(() => this.#stopping.delete(stopped));
  }

  /**
   * The listener's TCP-MD5 keys follow the peers' passwords, one key per peer address (a change
   * touches only that address's key), and it sends with TTL 255 while a peer has TTL security.
   */
  #secureListener(listener: Listener): void {
    const keys = new Map<string, string>();
    let ttl255 = false;
    for (const [address, entry] of this.#peers) {
      const { password, ttlSecurity } = entry.resolved.config;
      if (password !== undefined) keys.set(address, password);
      if (ttlSecurity !== undefined) ttl255 = true;
    }
    for (const problem of listener.setSecurity(keys, ttl255)) this.#warn('listener', problem);
  }

  /**
   * An accepted connection has its key from the listener; here it gets its peer's TTL options
   * (or the default TTL back when the listener sends with 255 for another peer). With TTL
   * security, a SYN that arrived with a TTL below the minimum, or whose TTL is unknown, refuses
   * the connection: its first segments were queued before the minimum was set. Returns why the connection is refused,
   * also when the options cannot be set: the peer asked for protection we cannot give.
   */
  #secureAccepted(entry: PeerEntry, remoteAddress: string, socket: Socket): string | undefined {
    const security = tcpSecurityOf(entry.resolved.config);
    const listenerTtl255 = this.#listeners.some((l) => l.hasTtl255);
    const ttl = security?.ttl ?? (listenerTtl255 ? -1 : undefined);
    if (ttl === undefined && security?.minTtl === undefined) return undefined;
    try {
      const fd = descriptorOf(socket);
      // Read also when not needed: the kernel keeps a saved SYN until it is read.
      const synTtl = listenerTtl255 ? savedSynTtl(fd) : undefined;
      if (security?.minTtl !== undefined && synTtl === undefined) {
        // A connection made before the listener kept SYNs (just after it started listening):
        // nothing says how near the peer is, and its first segments are queued already. Refused;
        // the peer's next attempt is checked.
        return `the TTL its SYN arrived with is unknown, and ttlSecurity ${256 - security.minTtl} needs it`;
      }
      if (security?.minTtl !== undefined && synTtl !== undefined && synTtl < security.minTtl) {
        return `its SYN arrived with TTL ${synTtl}, below ${security.minTtl} (ttlSecurity ${256 - security.minTtl})`;
      }
      applyTcpSecurity(fd, remoteAddress, {
        ...(ttl !== undefined && { ttl }),
        ...(security?.minTtl !== undefined && { minTtl: security.minTtl }),
      });
      return undefined;
    } catch (err) {
      return `cannot set the TTL options of the connection: ${(err as Error).message}`;
    }
  }

  #accept(remoteAddress: string, socket: Socket): { ok: true } | { ok: false; reason: string } {
    if (this.#isStopped) return { ok: false, reason: 'the speaker is stopping' };
    const entry = this.#peers.get(remoteAddress);
    if (entry === undefined) return { ok: false, reason: `${remoteAddress} is not a configured peer` };
    const held = entry.limits.held;
    if (held !== null) {
      return { ok: false, reason: `${held.reason}, held Idle until ${new Date(held.until).toISOString()}` };
    }
    const insecure = this.#secureAccepted(entry, remoteAddress, socket);
    if (insecure !== undefined) return { ok: false, reason: insecure };
    const refused = entry.session.acceptIncoming(socket);
    return refused === null ? { ok: true } : { ok: false, reason: refused };
  }

  #host(entryOf: () => PeerEntry): PeerSessionHost {
    const address = () => entryOf().resolved.address;
    return {
      stateChanged: (from, to, reason) => {
        const event = {
          address: address(),
          from,
          to,
          ...(reason !== undefined && { reason: reason.message }),
        };
        channels.peerStateChanged.publish(event);
        this.#emitter.emit('peerStateChanged', event);
      },
      established: (s) => this.#onEstablished(entryOf(), s),
      down: (reason, wasEstablished) => this.#onDown(entryOf(), reason, wasEstablished),
      update: (message) => this.#onUpdate(entryOf(), message),
      routeRefresh: (message) => {
        const entry = entryOf();
        const s = entry.session.session;
        const family = familyOf(message.afi, message.safi);
        if (message.unknownSubtype !== undefined) {
          // RFC 7313 §5: a ROUTE-REFRESH with an unknown subtype is ignored.
          this.#warn(address(), `ROUTE-REFRESH with unknown subtype ${message.unknownSubtype} ignored`);
        } else if (family === undefined || s === null || !s.negotiated.families.includes(family)) {
          // RFC 2918 §4: a request for a family not negotiated is ignored.
          this.#warn(
            address(),
            `ROUTE-REFRESH for AFI ${message.afi} SAFI ${message.safi} (not negotiated) ignored`,
          );
        } else if (message.subtype === 0) {
          entry.pump?.refresh(family, s.negotiated.enhancedRouteRefresh);
        } else {
          // BoRR/EoRR framing the peer's own resend (RFC 7313 §4): the resent routes replace
          // the old ones as they arrive; routes the peer no longer has are not purged at EoRR.
          this.#warn(address(), `${message.subtype === 1 ? 'BoRR' : 'EoRR'} for ${family} received`);
        }
      },
      drained: () => entryOf().pump?.drained(),
      notification: (info) =>
        channels.notification.publish({
          address: address(),
          ...info,
          name: describeNotification(info.code, info.subcode),
        }),
      warning: (reason) => this.#warn(address(), reason),
    };
  }

  /**
   * BFD saw the path to the peer fail: the BGP session goes down now (Cease / BFD Down, RFC 9384),
   * its routes leave the RIB, and the FSM's automatic restart brings it back when TCP can.
   */
  #onBfdDown(address: string, reason: string): void {
    const entry = this.#peers.get(address);
    if (entry === undefined || entry.session.state !== 'Established') return;
    entry.session.automaticStop(CeaseSubcode.bfdDown, reason);
  }

  #warn(address: string, reason: string): void {
    channels.warning.publish({ address, reason });
  }

  /** Counts TCP-MD5 drops for the peer from now on (status `tcpMd5`). */
  #md5Restart(address: string): void {
    const now = readMd5Counters();
    if (now === undefined) this.#md5Since.delete(address);
    else this.#md5Since.set(address, now);
  }

  #onEstablished(entry: PeerEntry, s: EstablishedSession): void {
    this.#md5Restart(entry.resolved.address);
    const r = entry.resolved;
    const c = r.config;
    const ribId = `${r.address}#${++this.#generation}`;
    const local = c.localAddress ?? s.localAddress;
    const isV6 = local.includes(':');
    // Our IPv4 next hop: configured, else the IPv4 session address, else (IPv6 session) the
    // IPv6 session address when both sides negotiated RFC 8950 extended next hop (§4). Without
    // one, IPv4 routes are not sent on this session.
    const nextHopV4 =
      c.nextHop?.ipv4 ?? (isV6 ? (s.negotiated.codec.extendedNextHopIpv4 ? local : undefined) : local);
    this.#rib.addPeer({
      id: ribId,
      address: r.address,
      asn: c.asn,
      localAsn: this.#options.asn,
      families: r.families,
      ...(c.routeReflectorClient !== undefined && { routeReflectorClient: c.routeReflectorClient }),
      ...(c.nextHopSelf !== undefined && { nextHopSelf: c.nextHopSelf }),
      ...(c.allowAsIn !== undefined && { allowAsIn: c.allowAsIn }),
      ...(c.exportPolicy !== undefined && { exportPolicy: c.exportPolicy }),
      ...(s.negotiated.longLivedGracefulRestart !== undefined && { llgr: true }),
      // RFC 7911 §4: the directions both OPENs allow.
      addPathSend: [...s.negotiated.codec.addPathSend],
      addPathReceive: [...s.negotiated.codec.addPathReceive],
      ...(nextHopV4 !== undefined && { localAddressV4: nextHopV4 }),
      ...((c.nextHop?.ipv6 ?? (isV6 ? local : undefined)) !== undefined && {
        localAddressV6: c.nextHop?.ipv6 ?? local,
      }),
    });
    entry.ribId = ribId;
    entry.negotiated = s.negotiated;
    entry.establishedAt = this.#now();
    this.#byRibId.set(ribId, entry);
    this.#ribAddress.set(ribId, r.address);
    entry.pump = new ExportPump({
      rib: this.#rib,
      ribId,
      target: entry.session,
      codec: s.negotiated.codec,
      onEncodeError: (message) => this.#warn(r.address, message),
    });
    this.#stale.sessionUp(r.address, s.negotiated);
    this.#rib.peerUp(ribId, { routerId: s.remoteOpen.bgpId, families: s.negotiated.families });
    if (!this.#upSinceStart.has(r.address)) {
      this.#upSinceStart.add(r.address);
      // RFC 4724 §4.1: the restart is over for this peer; a later session is no restart.
      if (entry.localOpen.capabilities.some((cap) => cap.kind === 'gracefulRestart' && cap.restartState)) {
        entry.localOpen = this.#localOpen(r);
        entry.session.setLocalOpen(entry.localOpen);
      }
    }
  }

  #onDown(entry: PeerEntry, reason: DownReason, wasEstablished: boolean): void {
    entry.establishedAt = null;
    entry.limits.over.clear();
    entry.pump?.stop();
    entry.pump = null;
    const ribId = entry.ribId;
    if (ribId === null) return;
    entry.ribId = null;
    this.#byRibId.delete(ribId);
    const cap = entry.negotiated?.gracefulRestart;
    const families = entry.negotiated?.families ?? entry.resolved.families;
    const address = entry.resolved.address;
    if (
      wasEstablished &&
      !this.#isStopped &&
      this.#peers.get(address) === entry &&
      cap !== undefined &&
      isGracefulEnd(reason, entry.negotiated?.gracefulNotification === true) &&
      this.#stale.retain(address, ribId, families, cap, this.#longLivedOf(entry))
    ) {
      return;
    }
    this.#stale.drop(address);
    this.#flusher.removePeer(ribId);
  }

  /**
   * The peer's LLGR capability of the last session when both OPENs carried one (RFC 9494:
   * the long-lived phase is for peers that negotiated it).
   */
  #longLivedOf(entry: PeerEntry): LongLivedGracefulRestartCapability | undefined {
    const isOurs = entry.localOpen.capabilities.some((c) => c.kind === 'longLivedGracefulRestart');
    return isOurs ? entry.negotiated?.longLivedGracefulRestart : undefined;
  }

  #onUpdate(entry: PeerEntry, message: UpdateMessage): void {
    const ribId = entry.ribId;
    if (ribId === null) return;
    this.#rib.applyUpdate(ribId, message);
    const address = entry.resolved.address;
    if (message.treatAsWithdraw !== undefined || message.discarded !== undefined) {
      let prefixes = 0;
      for (const block of message.reach) prefixes += block.prefixes.length;
      for (const issue of [message.treatAsWithdraw, ...(message.discarded ?? [])]) {
        if (issue !== undefined) channels.updateError.publish({ address, ...issue, prefixes });
      }
    }
    if (message.endOfRib !== undefined) this.#stale.endOfRib(address, message.endOfRib);
    if (entry.ribId === ribId) this.#checkLimits(entry);
  }

  // ---- prefix limits --------------------------------------------------------------------

  /** Compares the current session's received prefixes with the limits (see the file header). */
  #checkLimits(entry: PeerEntry): void {
    const rules = entry.resolved.prefixLimits;
    if (rules.length === 0 || entry.ribId === null || entry.limits.held !== null) return;
    const received = this.#rib.peerStats(entry.ribId).receivedByFamily;
    for (const rule of rules) {
      const count = received[rule.family];
      const limits = entry.limits;
      if (count <= rule.limit) {
        limits.over.delete(rule.family);
        continue;
      }
      if (rule.action === 'teardown') {
        this.#tearDown(entry, rule, count);
        return;
      }
      if (limits.over.has(rule.family)) continue;
      limits.over.add(rule.family);
      this.#countExceeded(entry, rule);
      channels.prefixLimit.publish({
        address: entry.resolved.address,
        family: rule.family,
        limit: rule.limit,
        received: count,
        action: 'warn',
      });
    }
  }

  #countExceeded(entry: PeerEntry, rule: PrefixLimitRule): void {
    const key = `${rule.family} ${rule.action} ${rule.limit}`;
    entry.limits.exceeded.set(key, (entry.limits.exceeded.get(key) ?? 0) + 1);
  }

  #tearDown(entry: PeerEntry, rule: PrefixLimitRule, received: number): void {
    const limits = entry.limits;
    const establishedMs = entry.establishedAt === null ? 0 : this.#now() - entry.establishedAt;
    const hold = nextHold(rule.restartAfterSeconds, limits.repeats, establishedMs / 1000);
    limits.repeats = hold.repeats;
    this.#countExceeded(entry, rule);
    // RFC 4486 §4: Cease / Maximum Number of Prefixes Reached with AFI, SAFI and the limit; a
    // Hard Reset when the N bit was exchanged (RFC 8538 §5.1, PeerSession.stop). The session
    // goes Idle within this call, so its down reason is known below.
    const stopped = entry.session.stop({
      subcode: CeaseSubcode.maxPrefixesReached,
      data: maxPrefixData(rule.family, rule.limit),
    });
    this.#stopping.add(stopped);
    void stopped.then(() => this.#stopping.delete(stopped));
    const down = entry.session.lastDownReason?.message ?? 'Maximum number of prefixes reached';
    limits.held = {
      family: rule.family,
      limit: rule.limit,
      received,
      until: this.#wallClock() + hold.seconds * 1000,
      seconds: hold.seconds,
      reason: `${down}: ${received} ${rule.family} prefixes, limit ${rule.limit}`,
      timer: this.#timers.setTimeout(() => this.#release(entry, true), hold.seconds * 1000),
    };
    channels.prefixLimit.publish({
      address: entry.resolved.address,
      family: rule.family,
      limit: rule.limit,
      received,
      action: 'teardown',
      holdSeconds: hold.seconds,
    });
  }

  /** Ends a hold; with `restart`, starts the session again when the peer is still configured. */
  #release(entry: PeerEntry, restart: boolean): void {
    const held = entry.limits.held;
    if (held === null) return;
    this.#timers.clearTimeout(held.timer);
    entry.limits.held = null;
    if (restart && this.#peers.get(entry.resolved.address) === entry && this.#isStarted && !this.#isStopped) {
      entry.session.start();
    }
  }

  /** New limits: a held peer starts now; a running session is checked against them at once. */
  #limitsChanged(entry: PeerEntry): void {
    entry.limits.over.clear();
    entry.limits.repeats = 0;
    if (entry.limits.held !== null) this.#release(entry, true);
    else this.#checkLimits(entry);
  }

  #limitStatus(entry: PeerEntry): PrefixLimitStatus | undefined {
    const rules = entry.resolved.prefixLimits;
    const limits = entry.limits;
    if (rules.length === 0 && limits.exceeded.size === 0) return undefined;
    const exceeded: PrefixLimitStatus['exceeded'][number][] = [];
    for (const [key, count] of limits.exceeded) {
      const [family, action, limit] = key.split(' ') as [Family, 'teardown' | 'warn', string];
      exceeded.push({ family, action, limit: Number(limit), count });
    }
    const held = limits.held;
    if (held === null) return { exceeded };
    const { timer: _timer, ...heldIdle } = held;
    return { exceeded, heldIdle };
  }

  #onBestPathChanged(event: BestPathChanged): void {
    if (this.#emitter.listenerCount('bestPathChanged') === 0) return;
    const ctx: PathViewContext = {
      addressOf: (ribId) => this.#ribAddress.get(ribId) ?? ribId,
      isStale: (ribId) => this.#stale.isStale(ribId),
    };
    let change: BestPathChange;
    if (event.best === null) {
      change = { prefix: event.prefix, family: event.family, nextHops: [], best: null };
    } else {
      // A detached Dest carrying only what pathView reads (best, ECMP set, reason).
      const dest = new Dest(event.prefix, event.family);
      dest.best = event.best;
      dest.multipath = event.multipath.length > 1 ? event.multipath : null;
      dest.reason = event.reason;
      const nextHops = [...new Set(event.multipath.map((p) => p.attrs.nextHop))];
      const route = { prefix: event.prefix, family: event.family, paths: [] };
      change = {
        prefix: event.prefix,
        family: event.family,
        nextHops,
        best: toPathView(route, pathView(event.best, dest), ctx),
      };
    }
    this.#emitter.emit('bestPathChanged', change);
  }

  /** `md5`: the namespace's TCP-MD5 drop counters now (read once for all peers). */
  #status(entry: PeerEntry, md5: Md5Counters | undefined): PeerStatus {
    const md5Since = this.#md5Since.get(entry.resolved.address);
    const tcpMd5 =
      entry.session.state !== 'Established' &&
      md5 !== undefined &&
      md5Since !== undefined &&
      md5MismatchSuspected(entry.resolved.config.password !== undefined, md5Since, md5)
        ? MD5_MISMATCH_SUSPECTED
        : undefined;
    const r = entry.resolved;
    const c = r.config;
    const s = entry.session;
    const est = s.session;
    let received = 0;
    let accepted = 0;
    let advertised = 0;
    for (const id of [entry.ribId, this.#stale.staleIdOf(r.address)]) {
      if (id === null || id === undefined) continue;
      const stats = this.#rib.peerStats(id);
      received += stats.received;
      accepted += stats.accepted;
      if (id === entry.ribId) advertised = stats.advertised;
    }
    const timers = s.timers;
    const prefixLimit = this.#limitStatus(entry);
    const bfd = this.#bfd.status(r.address);
    const lastError = entry.limits.held?.reason ?? s.lastDownReason?.message;
    const stale = this.#stale.stateOf(r.address);
    const staleRoutes =
      stale === undefined
        ? undefined
        : {
            routes: this.#rib.peerStats(stale.ribId).received,
            restarting: stale.restarting,
            longLived: stale.longLived,
          };
    const localAddress = est?.localAddress ?? c.localAddress;
    return {
      address: r.address,
      asn: c.asn,
      ...(c.description !== undefined && { description: c.description }),
      type: c.asn === this.#options.asn ? 'ibgp' : 'ebgp',
      routeReflectorClient: c.routeReflectorClient ?? false,
      state: s.state,
      since: s.since,
      ...(lastError !== undefined && { lastError }),
      holdTime: timers.holdTime,
      keepalive: timers.keepalive,
      ...(localAddress !== undefined && { localAddress }),
      ...(est !== null && { remoteRouterId: est.remoteOpen.bgpId }),
      capabilities: {
        local: formatCapabilities(entry.localOpen.capabilities),
        remote: est === null ? [] : formatCapabilities(est.remoteOpen.capabilities),
      },
      families: est?.negotiated.families ?? r.families,
      prefixes: { received, accepted, advertised },
      ...(entry.negotiated !== null && { llgrNegotiated: this.#longLivedOf(entry) !== undefined }),
      ...(staleRoutes !== undefined && { staleRoutes }),
      endOfRibReceived: entry.ribId === null ? [] : this.#rib.peerStats(entry.ribId).endOfRibReceived,
      messages: {
        in: s.counters.messagesIn,
        out: s.counters.messagesOut,
        updatesIn: s.counters.updatesIn,
        updatesOut: s.counters.updatesOut,
      },
      ...(prefixLimit !== undefined && { prefixLimit }),
      ...(tcpMd5 !== undefined && { tcpMd5 }),
      ...(bfd !== undefined && { bfd }),
    };
  }
}
