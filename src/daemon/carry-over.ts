// A restart of the agent (also after SIGKILL) is a BGP graceful restart, RFC 4724 §4.1, on the
// restarting side: the routes to other nodes found in the kernel are kept until the speaker has
// received End-of-RIB from every peer in every family, or SELECTION_DEFERRAL_MS have passed (a peer
// that never comes back).
//
// The Dataplane does the kernel part (adoptCarried: the remote routes of ours in the kernel stay
// desired beside the calculation's; releaseCarried: the next pass deletes those the calculation
// does not want). This decides when: adopt before the first dataplane pass and before the speaker
// exists (whether routes were found sets the R bit in our OPENs), release once BGP has
// resynchronised. Without it the first pass would program the dataplane with no BGP routes yet and
// delete the remote routes, and pods on the restarting node would lose traffic to other nodes
// (test/interop/lab-e2e-restart.test.ts checks that none do).
import type { PeerStatus } from '../../bgp/index.ts';
import { log } from '../log.ts';

/**
 * RFC 4724 §4.1 Selection_Deferral_Timer: the longest a restarted agent keeps the routes it found
 * in the kernel while waiting for End-of-RIB from its peers.
 */
export const SELECTION_DEFERRAL_MS = 60_000;
const SYNC_POLL_MS = 200;

/**
 * Whether BGP has resynchronised: as many peers as the calculation wants, every one Established
 * with its End-of-RIB received in every family it negotiated. `peers` is undefined before the
 * speaker exists. The first pass programs the dataplane before the peers are handed to the speaker
 * (so that their first UPDATE carries our pod CIDRs): fewer peers than wanted means "not yet".
 */
export function bgpSynced(peers: readonly PeerStatus[] | undefined, wanted: number): boolean {
  if (peers === undefined || peers.length < wanted) return false;
  return peers.every(
    (p) => p.state === 'Established' && p.families.every((f) => p.endOfRibReceived?.includes(f) ?? false),
  );
}

export interface CarryOverOptions {
  readonly dataplane: { adoptCarried(): Promise<number>; releaseCarried(): number };
  /** The speaker's peers now; undefined before it exists. */
  readonly peers: () => readonly PeerStatus[] | undefined;
  /** How many peers the calculation wants. */
  readonly wantedPeers: () => number;
  /** Called when BGP looks resynchronised: the owner's loop then calls `check()`. */
  readonly onSynced: () => void;
  readonly deferralMs?: number;
}

export class CarryOver {
  readonly #opts: CarryOverOptions;
  readonly #deferralMs: number;
  #state: 'unread' | 'kept' | 'done' = 'unread';
  #count = 0;
  #since = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: CarryOverOptions) {
    this.#opts = opts;
    this.#deferralMs = opts.deferralMs ?? SELECTION_DEFERRAL_MS;
  }

  /** Routes are kept now (the R bit of our OPENs). */
  get restarting(): boolean {
    return this.#state === 'kept';
  }

  /**
   * The first time: adopt what the kernel has (a failed read is logged and carries nothing over).
   * Later: release once BGP has resynchronised or the deferral is over.
   */
  async check(): Promise<void> {
    if (this.#state === 'unread') return this.#adopt();
    if (this.#state === 'kept' && this.#synced()) this.#end(true);
  }

  /**
   * The agent stops: no more polling, and nothing released (the kernel stays as it is across a
   * restart; the next agent adopts the same routes again).
   */
  stop(): void {
    this.#end(false);
  }

  #end(release: boolean): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#state === 'kept') {
      if (release) this.#opts.dataplane.releaseCarried();
      log('info', 'agent.carry-over-done', { routes: this.#count, afterMs: Date.now() - this.#since });
    }
    this.#state = 'done';
  }

  async #adopt(): Promise<void> {
    this.#state = 'done';
    try {
      this.#count = await this.#opts.dataplane.adoptCarried();
    } catch (err) {
      log('warn', 'agent.carry-over', { error: (err as Error).message });
      return;
    }
    if (this.#count === 0) return;
    this.#state = 'kept';
    this.#since = Date.now();
    log('info', 'agent.carry-over', { routes: this.#count, until: 'End-of-RIB from every peer' });
    this.#timer = setInterval(() => {
      if (this.#synced()) this.#opts.onSynced();
    }, SYNC_POLL_MS);
    this.#timer.unref();
  }

  #synced(): boolean {
    if (Date.now() - this.#since >= this.#deferralMs) return true;
    return bgpSynced(this.#opts.peers(), this.#opts.wantedPeers());
  }
}
