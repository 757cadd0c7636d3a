// One dataplane apply in a fixed order (as Felix's dataplane applies its updates):
//   1. ipsets: create and update (rules about to be written may reference them)
//   2. at once, as Felix updates its iptables tables and its route tables in parallel:
//      - iptables, every family at once (one restore process per family);
//      - links (tunnel devices and their FDB/neighbours, workload veth settings), then routes,
//        which use them.
//      Neither depends on the other: a pod's route that goes in before its endpoint chains meets
//      the dispatch chains' drop for an unknown workload interface (margay-cni writes that route
//      at ADD anyway, before the endpoint reaches the agent).
//   3. ipsets: destroy the unused ones (no rule references them any more)
// A failing step fails the pass once every step started beside it has ended (the first failure in
// the order above is the one reported), every part is asked to re-read the kernel, and the whole
// pass is retried with exponential backoff. The status object says what failed, why (the cause chain), how
// many times in a row, and when the dataplane was last in sync: health and metrics read it.
// Never half-applied silently: a failure is in `status` until a pass succeeds, and after the last
// retry `applyAll` throws FELIX_ERR_APPLY_FAILED with the last error as its cause.
//
// The parts are structural types, so the route reconciler (another file) plugs in without any
// import between them.
import { FelixError } from '../errors.ts';

export interface ApplyPart {
  apply(): Promise<unknown>;
  /** Next apply re-reads the kernel (called after any failure). */
  requestResync?(): void;
}

export interface IpsetPhases {
  applyUpdates(): Promise<unknown>;
  applyDeletions(): Promise<unknown>;
  requestResync?(): void;
}

export interface DataplaneParts {
  readonly ipsets?: IpsetPhases;
  readonly iptables?: ApplyPart | readonly ApplyPart[];
  readonly links?: ApplyPart;
  readonly routes?: ApplyPart;
}

export const APPLY_STEPS = ['ipsetUpdates', 'iptables', 'links', 'routes', 'ipsetDeletions'] as const;
export type ApplyStep = (typeof APPLY_STEPS)[number];

export interface ApplyError {
  readonly step: ApplyStep;
  readonly code: string;
  readonly message: string;
  /** The messages of the cause chain, outermost first. */
  readonly causes: readonly string[];
  readonly at: number;
}

export interface ApplyStatus {
  inSync: boolean;
  attempts: number;
  consecutiveFailures: number;
  totalFailures: number;
  lastAttemptAt: number | undefined;
  lastSuccessAt: number | undefined;
  lastError: ApplyError | undefined;
  /** Duration of the last successful pass, ms. */
  lastDurationMs: number | undefined;
}

export function createApplyStatus(): ApplyStatus {
  return {
    inSync: false,
    attempts: 0,
    consecutiveFailures: 0,
    totalFailures: 0,
    lastAttemptAt: undefined,
    lastSuccessAt: undefined,
    lastError: undefined,
    lastDurationMs: undefined,
  };
}

export interface RetryPolicy {
  /** Passes in total, the first included (default 5). */
  readonly maxAttempts?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface ApplyOptions {
  /** Updated in place; pass the same object every time so counters accumulate. */
  readonly status?: ApplyStatus;
  readonly retry?: RetryPolicy;
  /** Ask every part to re-read the kernel before the first pass (periodic resync). */
  readonly resync?: boolean;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Delay before retry number `attempt` (1-based): initial × 2^(attempt-1), capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy = {}): number {
  const initial = policy.initialDelayMs ?? 100;
  const max = policy.maxDelayMs ?? 10_000;
  return Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
}

function causeChain(err: unknown): string[] {
  const out: string[] = [];
  let e: unknown = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; e !== undefined && depth < 8; depth++) {
    if (e instanceof Error) {
      out.push(e.message);
      e = e.cause;
    } else {
      out.push(typeof e === 'object' && e !== null && 'stderr' in e ? String(e.stderr).trim() : String(e));
      break;
    }
  }
  return out;
}

function iptablesParts(parts: DataplaneParts): readonly ApplyPart[] {
  if (parts.iptables === undefined) return [];
  return Array.isArray(parts.iptables)
    ? (parts.iptables as readonly ApplyPart[])
    : [parts.iptables as ApplyPart];
}

function requestResyncAll(parts: DataplaneParts): void {
  parts.ipsets?.requestResync?.();
  for (const p of iptablesParts(parts)) p.requestResync?.();
  parts.links?.requestResync?.();
  parts.routes?.requestResync?.();
}

async function onePass(parts: DataplaneParts): Promise<void> {
  const step = async (name: ApplyStep, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      throw new StepFailure(name, err);
    }
  };
  if (parts.ipsets) await step('ipsetUpdates', () => parts.ipsets!.applyUpdates());
  const beside = await Promise.allSettled([
    ...iptablesParts(parts).map((p) => step('iptables', () => p.apply())),
    (async () => {
      if (parts.links) await step('links', () => parts.links!.apply());
      if (parts.routes) await step('routes', () => parts.routes!.apply());
    })(),
  ]);
  for (const r of beside) if (r.status === 'rejected') throw r.reason;
  if (parts.ipsets) await step('ipsetDeletions', () => parts.ipsets!.applyDeletions());
}

class StepFailure extends Error {
  readonly step: ApplyStep;
  constructor(step: ApplyStep, cause: unknown) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.step = step;
  }
}

/** Runs the ordered pass, retrying with backoff; resolves with the status once a pass succeeds. */
export async function applyAll(parts: DataplaneParts, opts: ApplyOptions = {}): Promise<ApplyStatus> {
  const status = opts.status ?? createApplyStatus();
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 5);
  if (opts.resync) requestResyncAll(parts);
  for (let attempt = 1; ; attempt++) {
    const started = now();
    status.attempts++;
    status.lastAttemptAt = started;
    try {
      await onePass(parts);
      status.inSync = true;
      status.consecutiveFailures = 0;
      status.lastSuccessAt = now();
      status.lastDurationMs = status.lastSuccessAt - started;
      return status;
    } catch (err) {
      const failure = err as StepFailure;
      const cause = failure.cause;
      status.inSync = false;
      status.consecutiveFailures++;
      status.totalFailures++;
      status.lastError = {
        step: failure.step,
        code: cause instanceof FelixError ? cause.code : 'FELIX_ERR_APPLY_FAILED',
        message: cause instanceof Error ? cause.message : String(cause),
        causes: causeChain(cause),
        at: now(),
      };
      requestResyncAll(parts);
      if (attempt >= maxAttempts) {
        throw new FelixError(
          'FELIX_ERR_APPLY_FAILED',
          `dataplane apply failed ${attempt} time(s) in a row at step ${failure.step}: ${status.lastError.message}`,
          { cause },
        );
      }
      await sleep(backoffDelay(attempt, opts.retry));
    }
  }
}
