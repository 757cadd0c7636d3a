// A configuration path that is not a regular file: a FIFO would block the read until some
// process writes to it, a directory or a device is never a configuration. Both commands refuse
// it at once with MARGAY_ERR_CONFIG_READ naming the path.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../../../src/config/agent.ts';
import { loadSpeakerConfig } from '../../../../src/config/speaker.ts';
import { makeFifo, releaseFifo } from '../../../support/fifo.ts';

let dir: string;
let fifo: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-cfg-fifo-'));
  fifo = join(dir, 'config.yaml');
  makeFifo(fifo);
});

afterEach(() => {
  releaseFifo(fifo);
  rmSync(dir, { recursive: true, force: true });
});

describe('configuration files that are not regular files', () => {
  it('the speaker refuses a FIFO', async () => {
    await expect(loadSpeakerConfig(fifo)).rejects.toMatchObject({
      code: 'MARGAY_ERR_CONFIG_READ',
      exitCode: 2,
      message: expect.stringMatching(new RegExp(`^${fifo}: not a regular file \\(a FIFO\\)`)),
    });
  });

  it('the agent refuses a FIFO', async () => {
    await expect(loadAgentConfig(fifo)).rejects.toMatchObject({
      code: 'MARGAY_ERR_CONFIG_READ',
      message: expect.stringContaining(`${fifo}: not a regular file (a FIFO)`),
    });
  });

  it('a directory and a character device are refused the same way', async () => {
    const sub = join(dir, 'conf.d');
    mkdirSync(sub);
    await expect(loadSpeakerConfig(sub)).rejects.toMatchObject({
      code: 'MARGAY_ERR_CONFIG_READ',
      message: expect.stringContaining(`${sub}: not a regular file (a directory)`),
    });
    await expect(loadAgentConfig('/dev/zero')).rejects.toMatchObject({
      code: 'MARGAY_ERR_CONFIG_READ',
      message: expect.stringContaining('/dev/zero: not a regular file (a character device)'),
    });
  });
});
