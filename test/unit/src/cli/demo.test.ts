// `margay demo` creates network namespaces, so it refuses to start for a user other than root
// (MARGAY_ERR_DEMO, exit 1) before it changes anything. Run as root, the test calls it in a child
// process with the uid of nobody, which prints the error; otherwise it calls it here.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../../../src/cli/demo.ts';
import type { MargayError } from '../../../../src/errors.ts';

const DEMO = pathToFileURL(join(import.meta.dirname, '..', '..', '..', '..', 'src', 'cli', 'demo.ts')).href;
const NOBODY = 65534;

async function demoErrorAsNonRoot(): Promise<unknown> {
  if (process.getuid?.() !== 0) {
    const err = (await runDemo({ once: true }).catch((e: unknown) => e)) as MargayError;
    return { code: err.code, exitCode: err.exitCode, message: err.message };
  }
  const script = [
    `const { runDemo } = await import(${JSON.stringify(DEMO)});`,
    'try { await runDemo({ once: true }); console.log("{}"); }',
    'catch (e) { console.log(JSON.stringify({ code: e.code, exitCode: e.exitCode, message: e.message })); }',
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: '/',
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('margay demo', () => {
  it('as a user other than root: MARGAY_ERR_DEMO, exit 1, before anything is set up', async () => {
    expect(await demoErrorAsNonRoot()).toEqual({
      code: 'MARGAY_ERR_DEMO',
      exitCode: 1,
      message: 'the demo creates network namespaces: run it as root',
    });
  });
});
