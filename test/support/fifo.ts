// A FIFO for tests of paths that are not regular files: reading one blocks until some process
// writes to it, which is exactly what the code under test must refuse to do.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';

/** Makes a FIFO at `path` with mkfifo(1); throws with its stderr when that fails. */
export function makeFifo(path: string): void {
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo ${path}: ${String(made.stderr)}`);
}

/**
 * Releases any reader still blocked on the FIFO at `path` (a regression under test would leave
 * one): opening it for writing and closing it gives that reader end-of-file.
 */
export function releaseFifo(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: nobody has it open for reading.
  }
}
