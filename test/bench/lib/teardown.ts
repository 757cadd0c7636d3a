// Teardown for benchmarks: every namespace and process a run creates registers its removal here, and
// it runs last-in-first-out on every exit path — normal end, thrown error, SIGINT/SIGTERM.
// Nothing is ever found by name: processes are ended by the PID we spawned, namespaces by the exact
// name we created.

type Step = { readonly what: string; readonly fn: () => Promise<void> | void };

const live = new Set<Teardown>();

// Signal handlers are installed only while some teardown is pending, so a host that signals us when
// nothing is left to clean (vitest ends its workers with SIGTERM) keeps Node's default behaviour.
function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: tearing down ${live.size} run(s)…\n`);
  const all = [...live].map((t) => t.run());
  void Promise.allSettled(all).then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function track(t: Teardown): void {
  if (live.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  live.add(t);
}

function untrack(t: Teardown): void {
  live.delete(t);
  if (live.size === 0) for (const s of SIGNALS) process.off(s, onSignal);
}

export class Teardown {
  #steps: Step[] = [];
  #running: Promise<string[]> | undefined;

  constructor() {
    track(this);
  }

  add(what: string, fn: () => Promise<void> | void): void {
    if (this.#running) throw new Error(`teardown already running; cannot add ${what}`);
    this.#steps.push({ what, fn });
  }

  /** Runs every step once, LIFO, continuing past failures; returns the failures as text. */
  run(): Promise<string[]> {
    this.#running ??= (async () => {
      const failures: string[] = [];
      while (this.#steps.length > 0) {
        const step = this.#steps.pop()!;
        try {
          await step.fn();
        } catch (err) {
          failures.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      untrack(this);
      return failures;
    })();
    return this.#running;
  }

  /**
   * Runs the steps after a benchmark's body, then throws if the body failed (`failure`, with
   * any teardown failures added to its message) or if a step failed.
   */
  async finish(failure: unknown): Promise<void> {
    const leftovers = await this.run();
    if (failure) {
      const msg = failure instanceof Error ? failure.message : String(failure);
      throw new Error(leftovers.length > 0 ? `${msg}; teardown: ${leftovers.join('; ')}` : msg);
    }
    if (leftovers.length > 0) throw new Error(`teardown failed: ${leftovers.join('; ')}`);
  }
}
