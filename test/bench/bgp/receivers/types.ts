// What the ingest bench needs from a receiver under test: start it fresh in the receiver namespace,
// count the feed's prefixes in its Loc-RIB (session after session: a receiver takes a first and a
// second session in the same process), verify the final table, and name the processes whose memory
// and CPU are charged to it.

import type { NsPair } from '../../lib/netns.ts';
import type { Teardown } from '../../lib/teardown.ts';

export const RECEIVER_NAMES = ['bird', 'gobgp', 'frr', 'margay'] as const;
export type ReceiverName = (typeof RECEIVER_NAMES)[number];

export interface ReceiverContext {
  readonly teardown: Teardown;
  readonly ns: NsPair;
  /** A private temporary directory for configuration, sockets and logs; removed in teardown. */
  readonly dir: string;
  readonly receiverAsn: number;
  readonly senderAsn: number;
  readonly startTimeoutMs: number;
  /** The feed: N prefixes over this many attribute sets (see ../feed.ts). */
  readonly n: number;
  readonly attrSets: number;
}

export interface StartedReceiver {
  /** The processes whose peak RSS and CPU time are the receiver's cost. */
  readonly pids: readonly number[];
  /** Shortest sensible interval between two `count()` calls (spawning a CLI costs more than a socket). */
  readonly minPollMs: number;
  /**
   * `tight`: a count is cheap, poll every 1% or so of the elapsed time. `predictive`: a count costs the
   * receiver real work (GoBGP walks its table under its lock), so poll at half the predicted remaining
   * time — sparse in the middle of the ingest, dense near its end.
   */
  readonly pollStrategy: 'tight' | 'predictive';
  /** How the count is obtained, for the report. */
  readonly pollMethod: string;
  /**
   * Before each session's sender connects, with the receiver idle (and, for a second session, the
   * first one's routes gone): whatever `count` and `verify` measure from (FRR: the table version).
   */
  beforeSession?(): Promise<void>;
  /** Prefixes of the current session in the Loc-RIB (0 once a closed session's routes are gone). */
  count(): Promise<number>;
  /** After the count reached N: throws unless the table holds exactly N usable routes. */
  verify(): Promise<void>;
  /** Receiver-specific figures read at the end (Margay: event-loop delay). */
  extras?(): Promise<Record<string, number | string>>;
  /** A line or two of the receiver's own log, for error messages. */
  logTail(): Promise<string>;
}

export interface ReceiverDriver {
  readonly name: ReceiverName;
  start(ctx: ReceiverContext): Promise<StartedReceiver>;
}
