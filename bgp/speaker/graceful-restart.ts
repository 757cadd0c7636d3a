// RFC 4724 graceful restart, receiving speaker side: the routes of a peer whose session died
// are kept (stale) until it is back and has resent its table, or until its restart time runs out.
//
// How stale routes are kept without a special RIB mode: every Established session registers
// the peer in the RIB under a fresh id (`address#generation`). When a session ends in a way
// graceful restart covers, its RIB peer is simply not removed: its paths stay in the Loc-RIB
// and keep being used and advertised. The next session is a different RIB peer, so the routes
// it re-announces exist twice for a while (same attributes; the decision process keeps the
// older path until the stale peer goes). End-of-RIB of a family from the new session then
// withdraws everything the stale RIB peer still holds in that family — exactly the routes that
// were not re-announced (RFC 4724 §4.2) — and the stale peer is removed once all its families
// are done. Cost: a re-announced route is stored twice until End-of-RIB.
//
// Which session ends are covered (a choice, documented in the README):
// - TCP failure/close and hold timer expiry (RFC 4724 §4.2: "detects termination of the TCP
//   session"; a hold timer expiry is how a dead TCP session is detected, and RFC 8538 §4 makes
//   it graceful explicitly). We also send the Hold Timer Expired NOTIFICATION, which the dead
//   peer does not see.
// - When both OPENs carried the N bit (RFC 8538 §2, `Negotiated.gracefulNotification`): every
//   NOTIFICATION sent or received except Cease / Hard Reset (RFC 8538 §4: the receiver and the
//   sender of the NOTIFICATION both follow the Receiving Speaker rules). This is what keeps a
//   peer's routes while its agent restarts: `Speaker.stop()` sends Cease / Administrative Reset.
// - Without N, no NOTIFICATION end is graceful (RFC 4724 §4.2 as before RFC 8538): the routes go.
// - A Hard Reset (sent or received) always flushes (RFC 8538 §3).
//
// Long-lived graceful restart (RFC 9494), when both OPENs carried the LLGR capability: the
// families of the peer's LLGR capability with a stale time above 0 are kept longer. When the
// Restart Time runs out (at once when it is 0 or the family is not in the GR capability), each
// such family enters the long-lived phase for the peer's Long-Lived Stale Time: its routes get
// the LLGR_STALE community, routes with NO_LLGR go (llgr.ts), and the family's timer starts.
// The timer keeps running when the peer is back; End-of-RIB of the family from the new session
// ends it as in RFC 4724, and so does a new session whose LLGR capability lacks the family or
// its F bit. A route the new session re-announces wins over its long-lived stale copy at once
// (the LLGR_STALE step of decision.ts). The stale-path timer applies to the RFC 4724 phase
// only. The peer's stale time is used as advertised (no local maximum).
//
// Known limits: routes from the stale peer may be sent back to the restarted peer (eBGP: its AS
// is in the path and it drops them; iBGP: split horizon stops them), and a second graceful
// end before End-of-RIB drops the older stale set instead of merging it.
import type { DownReason } from '../fsm/index.ts';
import type { Rib } from '../rib/index.ts';
import type { HostTimers } from '../session/session-types.ts';
import {
  afiSafiOf,
  CeaseSubcode,
  type Family,
  familyOf,
  type GracefulRestartCapability,
  type LongLivedGracefulRestartCapability,
  type Negotiated,
  NotifyCode,
  PrefixList,
} from '../wire/index.ts';
import { markLongLivedStale } from './llgr.ts';

/**
 * Session ends after which a graceful-restart peer's routes are kept (see the file header);
 * `isGracefulNotification`: the session exchanged the RFC 8538 N bit.
 */
export function isGracefulEnd(reason: DownReason, isGracefulNotification: boolean): boolean {
  if (
    reason.kind === 'connectionClosed' ||
    reason.kind === 'connectionFailed' ||
    reason.kind === 'holdTimerExpired'
  ) {
    return true;
  }
  // RFC 8538 §4: a NOTIFICATION other than Hard Reset, either direction; §3: Hard Reset flushes.
  if (!isGracefulNotification || reason.code === undefined) return false;
  return !(reason.code === NotifyCode.cease && reason.subcode === CeaseSubcode.hardReset);
}

/** setTimeout's longest delay; a Long-Lived Stale Time (up to 2^24 s) is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface LongTimer {
  handle: unknown;
}

interface StaleSet {
  readonly ribId: string;
  /** Families in the RFC 4724 phase (restart time, then stale-path time). */
  readonly families: Set<Family>;
  /** The restart or stale-path timer of `families`. */
  timer: unknown;
  /** RFC 9494: the peer's Long-Lived Stale Time (s) per family it keeps long-lived. */
  readonly longLived: ReadonlyMap<Family, number>;
  /** Families in the long-lived phase, with their stale timers. */
  readonly llgrTimers: Map<Family, LongTimer>;
}

export interface GracefulRestartOptions {
  readonly rib: Rib;
  /** s; how long a re-established peer may take to send End-of-RIB. */
  readonly stalePathTime: number;
  /** Removes a stale RIB peer (the speaker's RibFlusher: the table walk is sliced). */
  readonly removePeer: (ribId: string) => void;
  /** The restart and stale-path timers. */
  readonly timers: HostTimers;
}

/** What the status shows about a peer's stale routes. */
export interface StaleState {
  readonly ribId: string;
  /** Families in the RFC 4724 phase. */
  readonly restarting: readonly Family[];
  /** Families in the RFC 9494 long-lived phase. */
  readonly longLived: readonly Family[];
}

export class StaleRoutes {
  readonly #o: GracefulRestartOptions;
  readonly #byAddress = new Map<string, StaleSet>();
  readonly #ids = new Set<string>();

  constructor(options: GracefulRestartOptions) {
    this.#o = options;
  }

  isStale(ribId: string): boolean {
    return this.#ids.has(ribId);
  }

  /** The stale RIB peer id of an address, if any. */
  staleIdOf(address: string): string | undefined {
    return this.#byAddress.get(address)?.ribId;
  }

  /** The stale families of an address by phase, if it has stale routes. */
  stateOf(address: string): StaleState | undefined {
    const set = this.#byAddress.get(address);
    if (set === undefined) return undefined;
    return { ribId: set.ribId, restarting: [...set.families], longLived: [...set.llgrTimers.keys()] };
  }

  /**
   * RFC 4724 §4.2: the session with a peer that advertised `cap` ended gracefully. Keeps the
   * routes of the families in its capability for its Restart Time, and with `llgr` (the peer's
   * LLGR capability, when we advertised ours too) the families of that capability for their
   * Long-Lived Stale Time after it (see the file header); the session's other families are
   * withdrawn now. False when nothing is kept (no restart time and no long-lived family): the
   * caller removes the RIB peer as usual.
   */
  retain(
    address: string,
    ribId: string,
    sessionFamilies: readonly Family[],
    cap: GracefulRestartCapability,
    llgr?: LongLivedGracefulRestartCapability,
  ): boolean {
    const families = new Set<Family>();
    if (cap.restartTime > 0) {
      for (const f of cap.families) {
        const family = familyOf(f.afi, f.safi);
        if (family !== undefined && sessionFamilies.includes(family)) families.add(family);
      }
    }
    const longLived = new Map<Family, number>();
    for (const f of llgr?.families ?? []) {
      const family = familyOf(f.afi, f.safi);
      // RFC 9494 §2: a stale time of 0 keeps nothing past the restart time.
      if (family !== undefined && sessionFamilies.includes(family) && f.staleTime > 0) {
        longLived.set(family, f.staleTime);
      }
    }
    if (families.size === 0 && longLived.size === 0) return false;
    this.drop(address);
    for (const f of sessionFamilies) if (!families.has(f) && !longLived.has(f)) this.#flushFamily(ribId, f);
    const set: StaleSet = { ribId, families, timer: null, longLived, llgrTimers: new Map() };
    this.#byAddress.set(address, set);
    this.#ids.add(ribId);
    if (families.size > 0) {
      // RFC 4724 §4.2: "If the session does not get re-established within the Restart Time ...
      // the Receiving Speaker MUST delete all the stale routes from the peer"; RFC 9494 §4.2:
      // the long-lived families enter their long-lived phase instead.
      set.timer = this.#o.timers.setTimeout(
        () => this.#restartTimeEnded(address, set),
        cap.restartTime * 1000,
      );
    }
    // RFC 9494 §4.2: a family without a restart time is long-lived stale at once.
    for (const family of longLived.keys()) {
      if (!families.has(family)) this.#startLongLived(address, set, family);
    }
    return true;
  }

  /** The peer is Established again (RFC 4724 §4.2, RFC 9494). */
  sessionUp(address: string, negotiated: Negotiated): void {
    const set = this.#byAddress.get(address);
    if (set === undefined) return;
    if (set.timer !== null) this.#o.timers.clearTimeout(set.timer);
    set.timer = null;
    const cap = negotiated.gracefulRestart;
    // "If the Graceful Restart Capability is not received in the re-established session's
    // OPEN ... the Receiving Speaker MUST immediately remove all the stale routes".
    if (cap === undefined) {
      this.drop(address);
      return;
    }
    for (const family of [...set.families]) {
      const entry = cap.families.find((f) => familyOf(f.afi, f.safi) === family);
      // "... or if the F bit is not set for an address family, MUST immediately remove all
      // the stale routes from the peer for that address family"; likewise a family the new
      // session does not carry can never be refreshed.
      if (entry === undefined || !entry.forwardingPreserved || !negotiated.families.includes(family)) {
        this.#finishFamily(address, set, family);
      }
    }
    // RFC 9494: the same for the long-lived families, against the new LLGR capability; the
    // others keep their stale timers running until End-of-RIB.
    const llgr = negotiated.longLivedGracefulRestart;
    for (const family of [...set.llgrTimers.keys()]) {
      const entry = llgr?.families.find((f) => familyOf(f.afi, f.safi) === family);
      if (entry === undefined || !entry.forwardingPreserved || !negotiated.families.includes(family)) {
        this.#finishFamily(address, set, family);
      }
    }
    if (this.#byAddress.get(address) === set && set.families.size > 0) {
      set.timer = this.#o.timers.setTimeout(() => {
        set.timer = null;
        for (const family of [...set.families]) this.#finishFamily(address, set, family);
      }, this.#o.stalePathTime * 1000);
    }
  }

  /** End-of-RIB from the new session: the still-stale routes of the family go (RFC 4724 §4.2). */
  endOfRib(address: string, family: Family): void {
    const set = this.#byAddress.get(address);
    if (set?.families.has(family) || set?.llgrTimers.has(family)) this.#finishFamily(address, set, family);
  }

  /** Removes every stale route of the address now. */
  drop(address: string): void {
    const set = this.#byAddress.get(address);
    if (set === undefined) return;
    if (set.timer !== null) this.#o.timers.clearTimeout(set.timer);
    for (const t of set.llgrTimers.values()) this.#o.timers.clearTimeout(t.handle);
    set.llgrTimers.clear();
    this.#byAddress.delete(address);
    this.#ids.delete(set.ribId);
    this.#o.removePeer(set.ribId);
  }

  /** Stops every timer and removes every stale route (speaker stop). */
  clear(): void {
    for (const address of [...this.#byAddress.keys()]) this.drop(address);
  }

  #restartTimeEnded(address: string, set: StaleSet): void {
    set.timer = null;
    for (const family of [...set.families]) {
      if (this.#byAddress.get(address) !== set) return;
      if (set.longLived.has(family)) {
        set.families.delete(family);
        this.#startLongLived(address, set, family);
      } else {
        this.#finishFamily(address, set, family);
      }
    }
  }

  /** RFC 9494 §4.2: LLGR_STALE on the family's routes, NO_LLGR ones withdrawn, its timer on. */
  #startLongLived(address: string, set: StaleSet, family: Family): void {
    markLongLivedStale(this.#o.rib, set.ribId, family);
    const ms = (set.longLived.get(family) ?? 0) * 1000;
    const timer: LongTimer = { handle: null };
    const arm = (left: number) => {
      timer.handle = this.#o.timers.setTimeout(
        () => {
          if (left > MAX_TIMER_MS) arm(left - MAX_TIMER_MS);
          // "If the Long-Lived Stale Time expires, the stale routes ... are deleted".
          else if (set.llgrTimers.get(family) === timer) this.#finishFamily(address, set, family);
        },
        Math.min(left, MAX_TIMER_MS),
      );
    };
    arm(ms);
    set.llgrTimers.set(family, timer);
  }

  #finishFamily(address: string, set: StaleSet, family: Family): void {
    set.families.delete(family);
    const timer = set.llgrTimers.get(family);
    if (timer !== undefined) {
      this.#o.timers.clearTimeout(timer.handle);
      set.llgrTimers.delete(family);
    }
    if (set.families.size === 0 && set.llgrTimers.size === 0) this.drop(address);
    else this.#flushFamily(set.ribId, family);
  }

  #flushFamily(ribId: string, family: Family): void {
    const prefixes = this.#o.rib.listRoutes({ fromPeers: [ribId], family }).map((r) => r.prefix);
    if (prefixes.length === 0) return;
    const { afi, safi } = afiSafiOf(family);
    this.#o.rib.applyUpdate(ribId, {
      type: 'update',
      withdrawn: [{ afi, safi, prefixes: PrefixList.parse(afi, prefixes) }],
      reach: [],
      attributes: {},
    });
  }
}
