// Reading a file that must be a regular file: a configuration or datastore path that names a
// FIFO would block the read until some process writes to it (start-up hangs), and a directory,
// a device or a socket is never a configuration. The path is opened without blocking and the
// opened file itself is checked, so a path swapped for a FIFO after a check cannot block either.
// Symbolic links are followed (a Kubernetes ConfigMap volume is made of them).
import type { BigIntStats, Stats } from 'node:fs';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export interface RegularFileBytes {
  readonly data: Buffer;
  /** The file's status when it was opened (size, inode, times to the nanosecond). */
  readonly stat: BigIntStats;
}

function kindOf(s: Stats | BigIntStats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a plain file';
}

/**
 * Reads the whole file's bytes. Throws the file system's error, or an Error "not a regular file
 * (a FIFO)" for anything but a regular file; the caller adds the path and its error code.
 */
export async function readRegularFileBytes(path: string): Promise<RegularFileBytes> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw new Error(`not a regular file (${kindOf(stat)})`);
    return { data: await handle.readFile(), stat };
  } finally {
    await handle.close();
  }
}

/** Reads the whole file as UTF-8; throws as readRegularFileBytes does. */
export async function readRegularFile(path: string): Promise<string> {
  return (await readRegularFileBytes(path)).data.toString('utf8');
}
