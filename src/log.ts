// One JSON line per event on stderr (what log collectors in a cluster expect). The libraries
// never log; src/ subscribes to their diagnostics channels here.
//
// A peer can make the speaker publish the same warning thousands of times a minute (every
// malformed UPDATE, every connection from an address that is not a peer), so the BGP warnings
// are rate-limited the way routers limit their syslog: per key (peer and reason), the first
// event logs at once, later ones within the interval are only counted, and when the interval
// ends one line carries the last of them with `suppressed: N`. Every event still counts in the
// Prometheus counters this module exports, so nothing is lost from /metrics.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DiagnosticChannel, HOST_TIMERS, type HostTimers } from '../bgp/index.ts';
import { Counter, type MetricFamily } from './api/metrics.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.MARGAY_LOG_LEVEL as Level | undefined) ?? 'info';

export function setLogLevel(level: Level): void {
  threshold = level;
}

function formatLine(time: number, level: Level, event: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date(time).toISOString(), level, event, ...fields }, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  process.stderr.write(`${formatLine(Date.now(), level, event, fields)}\n`);
}

/**
 * How long a key stays limited after it logged: a continuing problem shows in the log once a
 * minute, which is soon enough for someone watching it, and a flood costs one line per key per
 * minute whatever its rate.
 */
export const LOG_INTERVAL_MS = 60_000;

/**
 * Keys limited at once. Refused connections are keyed by the remote address, which anyone can
 * choose; past this many keys an event's further keys share one key per event, so a scan from
 * many addresses still costs one line per interval and bounded memory.
 */
export const MAX_LIMITED_KEYS = 1024;

interface Window {
  readonly event: string;
  level: Level;
  suppressed: number;
  last: Record<string, unknown>;
  timer: unknown;
}

export interface RateLimiterOptions {
  readonly write: (level: Level, event: string, fields: Record<string, unknown>) => void;
  /** Called for each event that is counted instead of logged. */
  readonly suppressed?: (event: string) => void;
  readonly timers?: HostTimers;
  readonly intervalMs?: number;
  readonly maxKeys?: number;
}

/**
 * Per-key log rate limiting: the first event of a key is written at once and opens an interval;
 * events of that key during the interval are counted, and at its end one line with the last of
 * them and `suppressed: N` is written and a new interval opens. An interval with nothing
 * suppressed closes the key, so the next event after a quiet interval is written at once again.
 */
export class LogRateLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #write: RateLimiterOptions['write'];
  readonly #suppressed: (event: string) => void;
  readonly #timers: HostTimers;
  readonly #intervalMs: number;
  readonly #maxKeys: number;

  constructor(options: RateLimiterOptions) {
    this.#write = options.write;
    this.#suppressed = options.suppressed ?? (() => {});
    this.#timers = options.timers ?? HOST_TIMERS;
    this.#intervalMs = options.intervalMs ?? LOG_INTERVAL_MS;
    this.#maxKeys = options.maxKeys ?? MAX_LIMITED_KEYS;
  }

  /** Keys currently limited (the overflow keys included). */
  get size(): number {
    return this.#windows.size;
  }

  emit(key: string, level: Level, event: string, fields: Record<string, unknown>): void {
    let k = `${event}\u0000${key}`;
    let window = this.#windows.get(k);
    let overflow = false;
    if (window === undefined && this.#windows.size >= this.#maxKeys) {
      k = `${event}\u0000`;
      window = this.#windows.get(k);
      overflow = true;
    }
    if (window !== undefined) {
      window.suppressed++;
      window.level = level;
      window.last = { ...fields, ...(overflow && { limitedPer: 'event' }) };
      this.#suppressed(event);
      return;
    }
    this.#write(level, event, fields);
    const opened: Window = { event, level, suppressed: 0, last: fields, timer: undefined };
    this.#windows.set(k, opened);
    this.#arm(k, opened);
  }

  #arm(key: string, window: Window): void {
    const handle = this.#timers.setTimeout(() => this.#intervalEnded(key, window), this.#intervalMs);
    // A pending summary never keeps the process alive; close() writes it on shutdown.
    (handle as { unref?: () => void } | null)?.unref?.();
    window.timer = handle;
  }

  #intervalEnded(key: string, window: Window): void {
    if (window.suppressed === 0) {
      this.#windows.delete(key);
      return;
    }
    this.#summarise(window);
    this.#arm(key, window);
  }

  #summarise(window: Window): void {
    this.#write(window.level, window.event, { ...window.last, suppressed: window.suppressed });
    window.suppressed = 0;
  }

  /** Writes the pending summaries and stops every timer. */
  close(): void {
    for (const window of this.#windows.values()) {
      this.#timers.clearTimeout(window.timer);
      if (window.suppressed > 0) this.#summarise(window);
    }
    this.#windows.clear();
  }
}

export interface BgpLogOptions {
  /** Where each JSON line goes (without its newline); stderr by default. */
  readonly write?: (line: string) => void;
  readonly now?: () => number;
  readonly timers?: HostTimers;
  readonly intervalMs?: number;
  readonly maxKeys?: number;
}

export interface BgpLog {
  /** The counters of every BGP diagnostics event since subscribing, for /metrics. */
  families(): MetricFamily[];
  /** Unsubscribes and writes the pending summaries. */
  close(): void;
}

type Fields = Record<string, unknown>;

/** Template of a free-text reason with its numbers taken out, so "AFI 1" and "AFI 2" share a key. */
function reasonTemplate(reason: unknown): string {
  return String(reason).replace(/\d+/g, '#');
}

/**
 * Logs every BGP diagnostics message: peer state changes always (they are the session's
 * history, and the session's own timers bound their rate), the warnings through a
 * LogRateLimiter keyed by peer and reason. Counts every message for /metrics.
 */
export function subscribeBgpLog(options: BgpLogOptions = {}): BgpLog {
  const now = options.now ?? Date.now;
  const sink = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const write = (level: Level, event: string, fields: Fields) => {
    if (ORDER[level] >= ORDER[threshold]) sink(formatLine(now(), level, event, fields));
  };

  const updateErrors = new Counter(
    'margay_bgp_update_errors_total',
    'Malformed UPDATE attributes handled per RFC 7606, per peer and action (treat-as-withdraw, attribute-discard).',
  );
  // No address label: anyone can connect from any address, and a label per address would let
  // them grow the scrape without bound. The log line names the address.
  const refused = new Counter(
    'margay_bgp_connections_refused_total',
    'Incoming BGP connections refused (not a configured peer, collision, speaker stopping).',
    {},
  );
  const notifications = new Counter(
    'margay_bgp_notifications_total',
    'BGP NOTIFICATION messages per peer and direction (sent, received).',
  );
  const warnings = new Counter(
    'margay_bgp_warnings_total',
    'BGP problems that did not change the session state, per peer.',
  );
  const prefixLimits = new Counter(
    'margay_bgp_prefix_limit_exceeded_total',
    'Prefix limits crossed (BGPPeer maxPrefix), per peer, family and action: teardown (session closed, ' +
      'peer held Idle) or warn (session kept). Counted once per crossing, not per UPDATE.',
  );
  const suppressed = new Counter(
    'margay_log_suppressed_total',
    'Log lines left out by the per-peer, per-reason rate limit (each is still counted above).',
  );
  const limiter = new LogRateLimiter({
    write,
    suppressed: (event) => suppressed.inc({ event }),
    ...(options.timers !== undefined && { timers: options.timers }),
    ...(options.intervalMs !== undefined && { intervalMs: options.intervalMs }),
    ...(options.maxKeys !== undefined && { maxKeys: options.maxKeys }),
  });

  const handlers: Record<string, (m: Fields) => void> = {
    [DiagnosticChannel.peerStateChanged]: (m) => write('info', 'bgp.peerStateChanged', m),
    [DiagnosticChannel.connectionRefused]: (m) => {
      refused.inc();
      limiter.emit(String(m.remoteAddress), 'warn', 'bgp.connectionRefused', m);
    },
    [DiagnosticChannel.notification]: (m) => {
      notifications.inc({ peer: String(m.address), direction: String(m.direction) });
      const key = `${m.address} ${m.direction} ${m.code}/${m.subcode}`;
      limiter.emit(key, 'warn', 'bgp.notification', m);
    },
    [DiagnosticChannel.updateError]: (m) => {
      updateErrors.inc({ peer: String(m.address), action: String(m.action) });
      limiter.emit(`${m.address} ${m.action}`, 'warn', 'bgp.updateError', m);
    },
    // Once per crossing already (the speaker reports a crossing once), so not rate limited.
    [DiagnosticChannel.prefixLimit]: (m) => {
      prefixLimits.inc({ peer: String(m.address), family: String(m.family), action: String(m.action) });
      write('warn', 'bgp.prefixLimit', m);
    },
    [DiagnosticChannel.warning]: (m) => {
      warnings.inc({ peer: String(m.address) });
      limiter.emit(`${m.address} ${reasonTemplate(m.reason)}`, 'warn', 'bgp.warning', m);
    },
  };
  const subscribed = Object.entries(handlers).map(([name, handle]) => {
    const handler = (message: unknown) => handle(message as Fields);
    subscribe(name, handler);
    return () => unsubscribe(name, handler);
  });

  return {
    families: () => [
      updateErrors.family(),
      refused.family(),
      notifications.family(),
      warnings.family(),
      prefixLimits.family(),
      suppressed.family(),
    ],
    close: () => {
      for (const off of subscribed) off();
      limiter.close();
    },
  };
}
