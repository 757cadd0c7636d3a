// spawnChild: commands started through posix_spawn behave as child_process's do for everything the
// dataplane relies on — input, output, exit codes and signals, a program that cannot start, a
// kill — and the child starts clean: only its three descriptors, default signal actions, nothing
// blocked. Each case runs real programs.
import { spawn as forkSpawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../../felix/dataplane/exec.ts';
import { type SpawnedChild, spawnChild, spawnMethod } from '../../../../felix/dataplane/spawn.ts';

interface Outcome {
  readonly events: string[];
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

/** Runs a child to its 'close', recording the order of its events and its output. */
function outcome(child: SpawnedChild, input?: string | Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const events: string[] = [];
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let error: Error | undefined;
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.once('spawn', () => events.push('spawn'));
    child.once('error', (e) => {
      events.push('error');
      error = e;
    });
    child.once('exit', () => events.push('exit'));
    child.once('close', (code, signal) => {
      events.push('close');
      resolve({
        events,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        signal,
        ...(error !== undefined ? { error } : {}),
      });
    });
    if (child.stdin !== null) {
      child.stdin.on('error', () => {});
      child.stdin.end(input ?? '');
    }
  });
}

const PIPES = ['pipe', 'pipe', 'pipe'] as const;

describe('spawnChild', () => {
  it('starts commands through posix_spawn here', () => {
    // The agent depends on it to keep its event loop free while the dataplane runs commands.
    expect(spawnMethod()).toEqual({ method: 'posix_spawn' });
  });

  it('passes input through and returns output, stderr and the exit code', async () => {
    const r = await outcome(spawnChild(['sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 7'], PIPES), 'hello\n');
    expect(r).toMatchObject({ stdout: 'HELLO\n', stderr: 'oops\n', code: 7, signal: null });
    expect(r.events).toEqual(['spawn', 'exit', 'close']);
  });

  it('carries input and output larger than a pipe holds, both ways at once', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'abcdefghij\n');
    const r = await outcome(spawnChild(['cat'], PIPES), big);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(big.length);
    expect(r.stdout).toBe(big.toString('utf8'));
  });

  it('reports the signal that ended a child, as child_process does', async () => {
    const child = spawnChild(['sleep', '30'], PIPES);
    const done = outcome(child);
    await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGUSR1');
    expect(await done).toMatchObject({ code: null, signal: 'SIGUSR1' });
  });

  it('kills a running child', async () => {
    const child = spawnChild(['sleep', '30'], PIPES);
    const done = outcome(child);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(child.kill('SIGKILL')).toBe(true);
    expect(await done).toMatchObject({ code: null, signal: 'SIGKILL' });
    // Reaped: its PID is not signalled again.
    expect(child.kill('SIGKILL')).toBe(false);
  });

  it('reports a program that cannot start as child_process does: error, then close', async () => {
    // A path that names no file (made at run time: it is no program to install).
    const missing = join(tmpdir(), `margay-no-such-program-${process.pid}`);
    const ours = await outcome(spawnChild([missing], PIPES));
    const theirs = await outcome(forkSpawn(missing, [], { stdio: ['pipe', 'pipe', 'pipe'] }) as SpawnedChild);
    expect(ours.events).toEqual(theirs.events);
    expect(ours.code).toBe(theirs.code);
    expect(ours.error?.message).toBe(theirs.error?.message);
    expect((ours.error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('finds the program on PATH', async () => {
    const r = await outcome(spawnChild(['readlink', '-n', '/proc/self/exe'], PIPES));
    // readlink names itself: the file PATH led to.
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/readlink$/);
  });

  it('gives /dev/null for ignored streams, and waits for the exit without output pipes', async () => {
    // find writes to stderr itself: a shell redirection would move the shell's own descriptors.
    const script = 'find /proc/$$/fd/0 /proc/$$/fd/1 -maxdepth 0 -fprintf /dev/stderr "%l\\n"; exit 3';
    const child = spawnChild(['sh', '-c', script], ['ignore', 'ignore', 'pipe']);
    expect(child.stdin).toBeNull();
    expect(child.stdout).toBeNull();
    const r = await outcome(child);
    expect(r).toMatchObject({ stderr: '/dev/null\n/dev/null\n', code: 3 });
    const silent = await outcome(
      spawnChild(['sh', '-c', 'sleep 0.2; exit 4'], ['ignore', 'ignore', 'ignore']),
    );
    expect(silent).toMatchObject({ code: 4, signal: null });
  });

  it('waits for the exit of a child that closes its output and runs on', async () => {
    const r = await outcome(spawnChild(['sh', '-c', 'exec >&- 2>&-; sleep 0.3; exit 5'], PIPES));
    expect(r).toMatchObject({ code: 5, signal: null });
  });

  it('starts the child clean: the descriptors child_process passes, default signal actions, nothing blocked', async () => {
    // Node itself ignores SIGPIPE; a child that inherited that would not die on a closed pipe.
    const script = 'ls /proc/$$/fd; grep -E "^Sig(Ign|Blk)" /proc/self/status';
    // Children started alongside, whose pipe ends must not reach the one that looks.
    const others = Array.from({ length: 3 }, () => spawnChild(['sleep', '0.3'], PIPES));
    const busy = others.map((c) => outcome(c));
    const ours = await outcome(spawnChild(['sh', '-c', script], PIPES));
    const theirs = await outcome(
      forkSpawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] }) as SpawnedChild,
    );
    await Promise.all(busy);
    const fds = (r: Outcome) => r.stdout.split('\n').filter((l) => /^\d+$/.test(l));
    expect(ours.code).toBe(0);
    expect(fds(ours)).toEqual(fds(theirs));
    expect(fds(ours).slice(0, 3)).toEqual(['0', '1', '2']);
    expect(ours.stdout).toContain('SigBlk:\t0000000000000000');
    // No standard signal ignored (glibc's posix_spawn leaves its own two internal real-time
    // signals, 32 and 33, ignored; a program's C library sets them up again as it starts).
    const ignored = BigInt(`0x${/SigIgn:\t([0-9a-f]+)/.exec(ours.stdout)?.[1] ?? 'ffff'}`);
    expect(ignored & 0x7fffffffn).toBe(0n);
  });

  it('hands the child the environment as it is at the call', async () => {
    process.env.MARGAY_SPAWN_TEST = 'seen';
    try {
      const r = await outcome(spawnChild(['sh', '-c', 'printf %s "$MARGAY_SPAWN_TEST"'], PIPES));
      expect(r.stdout).toBe('seen');
    } finally {
      delete process.env.MARGAY_SPAWN_TEST;
    }
  });

  it('runs many children at once, each with its own output', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        outcome(spawnChild(['sh', '-c', `cat; echo ${i}`], PIPES), `in${i}\n`),
      ),
    );
    results.forEach((r, i) => {
      expect(r).toMatchObject({ stdout: `in${i}\n${i}\n`, code: 0 });
    });
  });
});

describe('run (exec.ts) through spawnChild', () => {
  it('names the command and its stderr when it fails, and times out a hung one', async () => {
    await expect(run({ argv: ['sh', '-c', 'echo bad line 7 >&2; exit 2'] })).rejects.toThrow(
      /sh -c 'echo bad line 7 >&2; exit 2': exit 2: bad line 7/,
    );
    await expect(run({ argv: ['sleep', '30'], timeoutMs: 100 })).rejects.toThrow(/timed out after 100 ms/);
    expect(await run({ argv: ['sh', '-c', 'exit 3'], allowFailure: true })).toMatchObject({ code: 3 });
  });
});
