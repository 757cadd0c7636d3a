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
 * `into`, if given, supplies a buffer of at least the file's size to read into (a caller that
 * reads a big file again and again reuses its buffers); the data is then a view of it, as many
 * bytes as the size the file had when opened, or fewer if it was cut short meanwhile.
 */
export async function readRegularFileBytes(
  path: string,
  into?: (size: number) => Buffer,
): Promise<RegularFileBytes> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw new Error(`not a regular file (${kindOf(stat)})`);
    const size = Number(stat.size);
    if (into === undefined || size === 0) return { data: await handle.readFile(), stat };
    const buffer = into(size);
    let length = 0;
    while (length < size) {
      const { bytesRead } = await handle.read(buffer, length, size - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { data: buffer.subarray(0, length), stat };
  } finally {
    await handle.close();
  }
}

/** Reads the whole file as UTF-8; throws as readRegularFileBytes does. */
export async function readRegularFile(path: string): Promise<string> {
  return (await readRegularFileBytes(path)).data.toString('utf8');
}
