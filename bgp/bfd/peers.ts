// BFD for the BGP peers of a speaker: `PeerConfig.bfd` (its presence enables BFD with the peer)
// checked and turned into session timers, one BfdTable session per peer address, and the
// speaker told when a session that was Up goes Down so it can take the BGP session down at once
// (RFC 5882 §4.3) instead of waiting for the hold timer.
//
// BFD does not hold the BGP session down: after a BFD Down the FSM restarts the session as after
// any automatic stop, with its idle hold doubling on every repeat (up to two minutes, reset once a
// session stays up for a minute). A flapping BFD session is damped on its own side (damping.ts):
// after repeated failures it is held in Down, growing up to two minutes, and a session held in
// Down cannot go Down from Up again, so it takes the BGP session down at most once per hold. BGP
// connects and stays up meanwhile without BFD, on its hold timer.
//
// The table and its sockets are made when the first peer with BFD is started. When they cannot
// be made (port 3784 taken, no koffi), the peers with BFD show why in their status and their BGP
// sessions run as without BFD.
import type { BfdState } from './packet.ts';
import type { Transition } from './session.ts';
import { type BfdSessionStatus, BfdTable, type BfdTableOptions } from './table.ts';

/** Per-peer BFD settings, milliseconds; every field has a default. */
export interface BfdConfig {
  /** Required Min RX Interval: the fastest rate we accept packets at (default 300). */
  readonly minRxMs?: number;
  /** Desired Min TX Interval: the rate we want to send at (default 300). */
  readonly minTxMs?: number;
  /** Detect Mult: packets missed before the peer declares the session down (default 3). */
  readonly multiplier?: number;
}

export const BFD_DEFAULTS = { minRxMs: 300, minTxMs: 300, multiplier: 3 } as const;
/** The interval range accepted, ms: below 10 ms the event loop's timers cannot keep up. */
export const BFD_INTERVAL_MIN_MS = 10;
export const BFD_INTERVAL_MAX_MS = 60_000;

/** Why `bfd` is not acceptable, naming the field below `bfd`, or undefined. */
export function bfdProblem(bfd: unknown): { readonly field: string; readonly message: string } | undefined {
  if (bfd === undefined) return undefined;
  if (typeof bfd !== 'object' || bfd === null || Array.isArray(bfd))
    return { field: '', message: 'is not an object of minRxMs, minTxMs and multiplier' };
  const known = new Set(['minRxMs', 'minTxMs', 'multiplier']);
  for (const key of Object.keys(bfd))
    if (!known.has(key)) return { field: `.${key}`, message: 'is not a BFD setting' };
  const b = bfd as Record<string, unknown>;
  for (const key of ['minRxMs', 'minTxMs'] as const) {
    const v = b[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < BFD_INTERVAL_MIN_MS || v > BFD_INTERVAL_MAX_MS)
      return {
        field: `.${key}`,
        message: `${String(v)} is not in ${BFD_INTERVAL_MIN_MS}..${BFD_INTERVAL_MAX_MS} ms`,
      };
  }
  const m = b.multiplier;
  if (m !== undefined && (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 255))
    return { field: '.multiplier', message: `${String(m)} is not in 1..255` };
  return undefined;
}

function timersOf(c: BfdConfig) {
  return {
    desiredMinTxUs: (c.minTxMs ?? BFD_DEFAULTS.minTxMs) * 1000,
    requiredMinRxUs: (c.minRxMs ?? BFD_DEFAULTS.minRxMs) * 1000,
    detectMult: c.multiplier ?? BFD_DEFAULTS.multiplier,
  };
}

/** BFD as a peer's status shows it. */
export type BfdPeerStatus =
  | {
      readonly state: BfdState;
      readonly remoteState: BfdState;
      /** Our diagnostic: why the session last left Up (RFC 5880 §4.1 names). */
      readonly diag: string;
      readonly remoteDiag: string | null;
      /** What we ask for and what the peer asks for, ms. */
      readonly minTxMs: number;
      readonly minRxMs: number;
      readonly multiplier: number;
      readonly remoteMinTxMs: number;
      readonly remoteMinRxMs: number;
      readonly remoteMultiplier: number;
      /** The negotiated transmit interval and the Detection Time in use, ms. */
      readonly txIntervalMs: number;
      readonly detectionTimeMs: number;
      /** Times the session came Up, and went Down from Up (for any reason). */
      readonly ups: number;
      readonly downs: number;
      /** Times it went Down from Up because the path failed (its flaps; not AdminDown). */
      readonly failures: number;
      /** The flap damping (damping.ts): penalty level, remaining hold in Down (ms), holds so far. */
      readonly damping: { readonly level: number; readonly heldDownMs: number; readonly holds: number };
    }
  | { readonly state: 'Unavailable'; readonly error: string };

export interface SpeakerBfdOptions {
  /** A session that was Up went Down: `reason` says why, for the BGP session's down reason. */
  readonly onDown: (address: string, reason: string) => void;
  readonly warn: (address: string, reason: string) => void;
  readonly table?: BfdTableOptions;
}

interface Wanted {
  readonly config: BfdConfig;
  readonly local: string | undefined;
}

export class SpeakerBfd {
  readonly #options: SpeakerBfdOptions;
  readonly #wanted = new Map<string, Wanted>();
  readonly #errors = new Map<string, string>();
  #table: BfdTable | undefined;
  #started = false;
  #closed = false;

  constructor(options: SpeakerBfdOptions) {
    this.#options = options;
  }

  /** The BFD wanted with `address` (undefined: none); applied at once when started. */
  set(address: string, config: BfdConfig | undefined, local: string | undefined): void {
    const before = this.#wanted.get(address);
    if (config === undefined) {
      this.#wanted.delete(address);
      this.#errors.delete(address);
      this.#table?.remove(address);
      return;
    }
    this.#wanted.set(address, { config, local });
    if (!this.#started || this.#closed) return;
    if (before !== undefined && before.local === local && this.#table?.status(address) !== undefined) {
      this.#table.setTimers(address, timersOf(config));
      return;
    }
    this.#table?.remove(address);
    this.#open(address);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const address of this.#wanted.keys()) this.#open(address);
  }

  status(address: string): BfdPeerStatus | undefined {
    if (!this.#wanted.has(address)) return undefined;
    const error = this.#errors.get(address);
    if (error !== undefined) return { state: 'Unavailable', error };
    const s = this.#table?.status(address);
    return s === undefined ? undefined : peerStatus(s);
  }

  /** AdminDown to every peer, then the sockets closed; resolves when they are. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#table?.close();
  }

  #open(address: string): void {
    const wanted = this.#wanted.get(address);
    if (wanted === undefined || this.#closed) return;
    try {
      const table = this.#tableOrNew();
      table.add(address, {
        peer: address,
        ...(wanted.local !== undefined && { local: wanted.local }),
        timers: timersOf(wanted.config),
      });
      this.#errors.delete(address);
    } catch (err) {
      const message = (err as Error).message;
      this.#errors.set(address, message);
      this.#options.warn(address, `BFD not started: ${message}`);
    }
  }

  #tableOrNew(): BfdTable {
    if (this.#table !== undefined) return this.#table;
    const table = new BfdTable(this.#options.table);
    table.on('change', (key, transition) => this.#onChange(key, transition));
    table.on('error', (err) => {
      for (const address of this.#wanted.keys()) this.#options.warn(address, err.message);
    });
    this.#table = table;
    return table;
  }

  /**
   * Up to Down is a failure of the path, unless the peer took its side down by hand: a session
   * brought down by the peer's AdminDown must not take the BGP session with it (RFC 5882 §3.2).
   */
  #onChange(address: string, t: Transition): void {
    if (t.from !== 'Up' || t.to !== 'Down') return;
    const status = this.#table?.status(address);
    if (status === undefined || status.remoteState === 'AdminDown') return;
    this.#options.onDown(address, `BFD session down: ${status.diag}`);
  }
}

function peerStatus(s: BfdSessionStatus): BfdPeerStatus {
  return {
    state: s.state,
    remoteState: s.remoteState,
    diag: s.diag,
    remoteDiag: s.remoteDiag,
    minTxMs: s.desiredMinTxUs / 1000,
    minRxMs: s.requiredMinRxUs / 1000,
    multiplier: s.detectMult,
    remoteMinTxMs: s.remoteDesiredMinTxUs / 1000,
    remoteMinRxMs: s.remoteMinRxUs / 1000,
    remoteMultiplier: s.remoteDetectMult,
    txIntervalMs: s.txIntervalUs / 1000,
    detectionTimeMs: s.detectionTimeMs,
    ups: s.ups,
    downs: s.downs,
    failures: s.failures,
    damping: { level: s.dampingLevel, heldDownMs: s.heldDownMs, holds: s.holds },
  };
}
