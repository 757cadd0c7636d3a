// margayctl's --datastore-file: a path that is not a regular file is refused at once, naming it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../../../src/ctl/datastore.ts';
import { makeFifo, releaseFifo } from '../../../support/fifo.ts';

let dir: string;
let fifo: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-ctl-fifo-'));
  fifo = join(dir, 'cluster.yaml');
  makeFifo(fifo);
});

afterEach(() => {
  releaseFifo(fifo);
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
