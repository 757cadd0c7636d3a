// A clock that moves only when a test says so, with host timers on it: inject `now` as the
// speaker's `clock` and `timers` as its `timers`, and `advance(ms)` fires every timer that falls
// due, in deadline order, each with the clock set to its deadline. Timer behaviour is then checked
// on this clock, to the millisecond, instead of by waiting real seconds.
import type { HostTimers } from '../../bgp/session/session-types.ts';

interface Pending {
  readonly at: number;
  readonly callback: () => void;
}

export class ManualClock {
  #now: number;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  readonly timers: HostTimers = {
    setTimeout: (callback, ms) => {
      const id = this.#nextId++;
      this.#pending.set(id, { at: this.#now + Math.max(0, ms), callback });
      return id;
    },
    clearTimeout: (handle) => {
      this.#pending.delete(handle as number);
    },
  };

  /** Timers armed and not yet fired or cleared. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Moves the clock `ms` forward, firing the timers due on the way (earliest first, then by arming order). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let due: [number, Pending] | undefined;
      for (const entry of this.#pending) {
        if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
      }
      if (due === undefined) break;
      this.#pending.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].callback();
    }
    this.#now = end;
  }
}
