// The calculation's problems in the log: each one once when it appears (warn) and once when it is
// gone (info), however many passes report it in between. The API lists and counts the current ones.
import { log } from '../log.ts';

export class ProblemLog {
  #logged: ReadonlySet<string> = new Set();

  update(problems: readonly string[]): void {
    const seen = new Set(problems);
    for (const p of problems) if (!this.#logged.has(p)) log('warn', 'calc.problem', { problem: p });
    for (const p of this.#logged) if (!seen.has(p)) log('info', 'calc.problem-resolved', { problem: p });
    this.#logged = seen;
  }
}
