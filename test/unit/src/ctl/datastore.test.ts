// margayctl's --datastore-file: a path that is not a regular file is refused at once, naming it.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../../../src/ctl/datastore.ts';

let dir: string;
let fifo: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-ctl-fifo-'));
  fifo = join(dir, 'cluster.yaml');
  const made = spawnSync('mkfifo', [fifo]);
  expect(made.status, String(made.stderr)).toBe(0);
});

afterEach(() => {
  // A reader still blocked on the FIFO gets end-of-file when a writer opens and closes it.
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: nobody has it open for reading.
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('margayctl --datastore-file', () => {
  it('refuses a FIFO with MARGAY_ERR_DATASTORE_READ naming the path', async () => {
    await expect(loadSnapshot({ file: fifo })).rejects.toMatchObject({
      code: 'MARGAY_ERR_DATASTORE_READ',
      message: `${fifo}: not a regular file (a FIFO)`,
    });
  });
});
