// Running one dataplane command (iptables-restore, ipset, …) with optional stdin input, optionally
// inside a network namespace (`ip netns exec NS …`, which execs in place). argv arrays only, never
// a shell string. Every failure is a FelixError naming the exact command and carrying its stderr,
// so "iptables-restore: line 7 failed" reaches the status API instead of a bare exit code.
//
// Writers take a `CommandRunner` so unit tests can substitute a fake with failure injection.
import { FelixError } from '../errors.ts';
import { spawnChild } from './spawn.ts';

export interface Command {
  readonly argv: readonly string[];
  /** Written to the command's stdin (then stdin is closed). */
  readonly input?: string;
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** Kill the command after this many milliseconds (default 60 s). */
  readonly timeoutMs?: number;
  /** Resolve with the exit code instead of throwing when it is not 0. */
  readonly allowFailure?: boolean;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export type CommandRunner = (command: Command) => Promise<CommandResult>;

export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

/** The full argv actually executed for `command` (with the `ip netns exec` prefix if any). */
export function fullArgv(command: Command): readonly string[] {
  return command.netns === undefined ? command.argv : ['ip', 'netns', 'exec', command.netns, ...command.argv];
}

export const run: CommandRunner = (command) => {
  const argv = fullArgv(command);
  if (argv[0] === undefined) {
    return Promise.reject(new FelixError('FELIX_ERR_COMMAND_FAILED', 'empty command'));
  }
  return new Promise((resolve, reject) => {
    const child = spawnChild(argv, ['pipe', 'pipe', 'pipe']);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, command.timeoutMs ?? 60_000);
    const fail = (message: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new FelixError('FELIX_ERR_COMMAND_FAILED', `${formatArgv(argv)}: ${message}`, { cause }));
    };
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => fail(`cannot run: ${e.message}`, e));
    // A command that exits before reading all its input closes the pipe; the exit code says why.
    child.stdin!.on('error', () => {});
    child.once('close', (code, signal) => {
      if (settled) return;
      const result: CommandResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? 128,
      };
      if (timedOut) return fail(`timed out after ${command.timeoutMs ?? 60_000} ms`);
      if (result.code !== 0 && !command.allowFailure) {
        const why = result.stderr.trim() || `killed by ${signal ?? 'signal'}`;
        return fail(`exit ${result.code}: ${why}`, result);
      }
      settled = true;
      clearTimeout(timer);
      resolve(result);
    });
    child.stdin!.end(command.input ?? '');
  });
};
