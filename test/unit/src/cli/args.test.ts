// The CLIs' argv parser: an unknown flag or a flag without its value is a usage error
// (MARGAY_ERR_USAGE, exit 2) naming the command and the flag, never silently ignored.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../../src/cli/args.ts';
import type { MargayError } from '../../../../src/errors.ts';

const spec = { config: 'string', once: 'boolean' } as const;

function usageError(argv: readonly string[]): MargayError {
  try {
    parseArgs(argv, spec, 'margay speaker');
  } catch (e) {
    return e as MargayError;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

describe('parseArgs', () => {
  it('reads string and boolean flags, positionals and what follows --', () => {
    expect(parseArgs(['--config', 'a.yaml', 'x', '--once', '--', '--config', 'y'], spec, 'margay')).toEqual({
      flags: { config: 'a.yaml', once: true },
      positionals: ['x'],
      rest: ['--config', 'y'],
    });
    expect(parseArgs(['--config=b.yaml'], spec, 'margay').flags).toEqual({ config: 'b.yaml' });
  });

  it('an unknown flag: MARGAY_ERR_USAGE, exit 2, naming command and flag', () => {
    const err = usageError(['--conf', 'a.yaml']);
    expect(err.code).toBe('MARGAY_ERR_USAGE');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('margay speaker: unknown flag --conf');
  });

  it('a string flag without its value: MARGAY_ERR_USAGE naming the flag', () => {
    for (const argv of [['--config'], ['--config', '--once']]) {
      const err = usageError(argv);
      expect(err.code, argv.join(' ')).toBe('MARGAY_ERR_USAGE');
      expect(err.message, argv.join(' ')).toBe('margay speaker: --config needs a value');
    }
  });
});
