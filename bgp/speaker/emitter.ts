// A small typed event emitter for the speaker's public events. Listeners run synchronously;
// one that throws does not stop the others nor the speaker's own work (the exception is
// rethrown on a fresh microtask, where the application sees it as an uncaught exception, as it
// would a throwing EventEmitter listener — the library itself never swallows it).
export class TypedEmitter<E extends object> {
  readonly #listeners = new Map<keyof E, Set<(event: never) => void>>();

  on<K extends keyof E>(name: K, listener: (event: E[K]) => void): this {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return this;
  }

  off<K extends keyof E>(name: K, listener: (event: E[K]) => void): this {
    this.#listeners.get(name)?.delete(listener as (event: never) => void);
    return this;
  }

  listenerCount(name: keyof E): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  emit<K extends keyof E>(name: K, event: E[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: E[K]) => void)(event);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
