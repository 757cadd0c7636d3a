// The output pump of one Established session: pulls changes from the peer's Adj-RIBs-Out only while
// the socket can take them, and packs them into as few UPDATEs as possible (BIRD `bgp_fire_tx`).
//
// - Nothing is queued per route in userland: the RIB marks prefixes dirty, the pump pulls a
//   bounded batch (TAKE_BUDGET prefixes) when the connection's write buffer is below its
//   high-water mark, writes it, and stops as soon as `write` says the buffer is full; the
//   connection's 'drain' resumes it. The overshoot past the high-water mark is at most one
//   batch (TAKE_BUDGET prefixes).
// - Each run does at most TAKES_PER_RUN batches and then yields with setImmediate, so timers
//   (our KEEPALIVEs, the peer's hold timer on our side) run between bursts: a KEEPALIVE is never
//   behind more than one run of writes.
// - Prefixes with the same exported attributes (one interned AttrSet) share UPDATEs; withdrawals
//   are packed the same way. After the initial table, End-of-RIB (RFC 4724 §2). A route refresh
//   (RFC 2918) resends the table, framed by BoRR/EoRR when enhanced route refresh was
//   negotiated (RFC 7313 §4).
// - The writes of one run are corked into one writev.
import { BgpError } from '../errors.ts';
import type { AttrSet, Rib } from '../rib/index.ts';
import {
  afiSafiOf,
  type CodecOptions,
  encodeEndOfRib,
  encodeRouteRefresh,
  type Family,
  type PrefixList,
  UpdateWriter,
} from '../wire/index.ts';

/**
 * Prefixes examined per `takePending` call: large enough that prefixes sharing attributes meet
 * in one batch (they are grouped per batch), small enough to bound the overshoot past the
 * socket's high-water mark (worst case, all attributes distinct: 4096 small UPDATEs, ~250 KB).
 */
export const TAKE_BUDGET = 4096;
/** Batches per run before yielding to the event loop (~32k prefixes, a few ms). */
export const TAKES_PER_RUN = 8;

/** The session side of the pump (PeerSession implements it). */
export interface PumpTarget {
  readonly canWrite: boolean;
  write(frame: Uint8Array): boolean;
  writeControl(frame: Uint8Array): void;
  cork(): void;
  uncork(): void;
  updatesSent(): void;
}

export interface PumpOptions {
  readonly rib: Rib;
  readonly ribId: string;
  readonly target: PumpTarget;
  readonly codec: CodecOptions;
  /** A group could not be encoded (e.g. an IPv6 next hop for IPv4 without RFC 8950). */
  readonly onEncodeError: (message: string) => void;
}

export class ExportPump {
  readonly #o: PumpOptions;
  readonly #writer: UpdateWriter;
  readonly #pending = new Set<Family>();
  /** Families whose route-refresh resend must end with EoRR. */
  readonly #refreshing = new Set<Family>();
  #immediate: NodeJS.Immediate | null = null;
  #isWaitingDrain = false;
  #isStopped = false;

  constructor(options: PumpOptions) {
    this.#o = options;
    this.#writer = new UpdateWriter(options.codec);
  }

  /** The RIB has work for this family (onExportPending). */
  schedule(family: Family): void {
    if (this.#isStopped) return;
    this.#pending.add(family);
    this.#kick();
  }

  /** The connection drained: resume. */
  drained(): void {
    this.#isWaitingDrain = false;
    if (this.#pending.size > 0) this.#kick();
  }

  /**
   * RFC 2918 §4 / RFC 7313 §4: the peer asked for the family again. With enhanced route
   * refresh the resend is framed by BoRR now and EoRR when it is complete.
   */
  refresh(family: Family, isEnhanced: boolean): void {
    if (this.#isStopped) return;
    if (isEnhanced) {
      this.#o.target.writeControl(encodeRouteRefresh({ ...afiSafiOf(family), subtype: 1 }));
      this.#refreshing.add(family);
    }
    this.#o.rib.refresh(this.#o.ribId, family);
    this.schedule(family);
  }

  stop(): void {
    this.#isStopped = true;
    this.#pending.clear();
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
  }

  #kick(): void {
    if (this.#immediate !== null || this.#isWaitingDrain || this.#isStopped) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = null;
      this.#run();
    });
  }

  #run(): void {
    const { rib, ribId, target } = this.#o;
    let sent = 0;
    target.cork();
    try {
      for (let takes = 0; this.#pending.size > 0 && !this.#isStopped; takes++) {
        if (!target.canWrite) {
          this.#isWaitingDrain = true;
          return;
        }
        if (takes === TAKES_PER_RUN) {
          this.#kick();
          return;
        }
        const family = this.#pending.values().next().value as Family;
        const batch = rib.takePending(ribId, family, TAKE_BUDGET);
        sent += this.#emitWithdrawn(family, batch.withdrawn, batch.withdrawnPathIds);
        for (const group of batch.announced) {
          sent += this.#emitGroup(family, group.attrs, group.prefixes, group.pathIds);
        }
        if (batch.endOfRib) {
          // RFC 4724 §2: the initial table is complete.
          target.writeControl(encodeEndOfRib(family, this.#o.codec));
          sent++;
        }
        if (!batch.hasMore) {
          this.#pending.delete(family);
          if (this.#refreshing.delete(family)) {
            target.writeControl(encodeRouteRefresh({ ...afiSafiOf(family), subtype: 2 }));
          }
        }
      }
    } finally {
      target.uncork();
      // RFC 4271 §8.2.2: sending UPDATEs restarts the KeepaliveTimer.
      if (sent > 0 && !this.#isStopped) target.updatesSent();
    }
  }

  #emitWithdrawn(family: Family, prefixes: PrefixList, pathIds: readonly number[] | undefined): number {
    const target = this.#o.target;
    return this.#writer.packAll(
      prefixes,
      (w) => w.beginWithdraw(family),
      (update) => target.write(update),
      pathIds,
    );
  }

  #emitGroup(
    family: Family,
    set: AttrSet,
    prefixes: PrefixList,
    pathIds: readonly number[] | undefined,
  ): number {
    const target = this.#o.target;
    // Counted as they go: an encode error leaves the UPDATEs already written sent.
    let sent = 0;
    try {
      this.#writer.packAll(
        prefixes,
        (w) => w.beginReach(set.attrs, family, set.nextHop, set.linkLocalNextHop),
        (update) => {
          target.write(update);
          sent++;
        },
        pathIds,
      );
    } catch (err) {
      if (!(err instanceof BgpError)) throw err;
      this.#o.onEncodeError(`${prefixes.length} ${family} prefixes not sent: ${err.message}`);
    }
    return sent;
  }
}
