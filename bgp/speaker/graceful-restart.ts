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
  type Negotiated,
  NotifyCode,
  PrefixList,
} from '../wire/index.ts';

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

interface StaleSet {
  readonly ribId: string;
  readonly families: Set<Family>;
  timer: unknown;
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

  /**
   * RFC 4724 §4.2: the session with a peer that advertised `cap` ended gracefully. Keeps the
   * routes of the families in its capability for its Restart Time; the session's other
   * families are withdrawn now. False when nothing is kept (restart time 0, no family): the
   * caller removes the RIB peer as usual.
   */
  retain(
    address: string,
    ribId: string,
    sessionFamilies: readonly Family[],
    cap: GracefulRestartCapability,
  ): boolean {
    const families = new Set<Family>();
    for (const f of cap.families) {
      const family = familyOf(f.afi, f.safi);
      if (family !== undefined && sessionFamilies.includes(family)) families.add(family);
    }
    if (cap.restartTime === 0 || families.size === 0) return false;
    this.drop(address);
    for (const f of sessionFamilies) if (!families.has(f)) this.#flushFamily(ribId, f);
    const set: StaleSet = { ribId, families, timer: null };
    // RFC 4724 §4.2: "If the session does not get re-established within the Restart Time ...
    // the Receiving Speaker MUST delete all the stale routes from the peer".
    set.timer = this.#o.timers.setTimeout(() => this.drop(address), cap.restartTime * 1000);
    this.#byAddress.set(address, set);
    this.#ids.add(ribId);
    return true;
  }

  /** The peer is Established again (RFC 4724 §4.2). */
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
    if (this.#byAddress.get(address) === set) {
      set.timer = this.#o.timers.setTimeout(() => this.drop(address), this.#o.stalePathTime * 1000);
    }
  }

  /** End-of-RIB from the new session: the still-stale routes of the family go (RFC 4724 §4.2). */
  endOfRib(address: string, family: Family): void {
    const set = this.#byAddress.get(address);
    if (set?.families.has(family)) this.#finishFamily(address, set, family);
  }

  /** Removes every stale route of the address now. */
  drop(address: string): void {
    const set = this.#byAddress.get(address);
    if (set === undefined) return;
    if (set.timer !== null) this.#o.timers.clearTimeout(set.timer);
    this.#byAddress.delete(address);
    this.#ids.delete(set.ribId);
    this.#o.removePeer(set.ribId);
  }

  /** Stops every timer and removes every stale route (speaker stop). */
  clear(): void {
    for (const address of [...this.#byAddress.keys()]) this.drop(address);
  }

  #finishFamily(address: string, set: StaleSet, family: Family): void {
    set.families.delete(family);
    if (set.families.size === 0) this.drop(address);
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
