// A small, strict argv parser: unknown flags are usage errors (exit 2) rather than ignored.
import { MargayError } from '../errors.ts';

export interface FlagSpec {
  readonly [name: string]: 'string' | 'boolean';
}

export interface ParsedArgs {
  readonly flags: Readonly<Record<string, string | boolean>>;
  readonly positionals: readonly string[];
  /** Everything after a literal `--`. */
  readonly rest: readonly string[];
}

export function parseArgs(argv: readonly string[], spec: FlagSpec, command: string): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return { flags, positionals, rest: argv.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.replace(/^--?/, '').slice(0, eq < 0 ? undefined : eq - (arg.startsWith('--') ? 2 : 1));
    const kind = spec[name];
    if (!kind) throw new MargayError('MARGAY_ERR_USAGE', `${command}: unknown flag ${arg}`);
    if (kind === 'boolean') {
      flags[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) {
      throw new MargayError('MARGAY_ERR_USAGE', `${command}: ${arg} needs a value`);
    }
    flags[name] = value;
  }
  return { flags, positionals, rest: [] };
}
