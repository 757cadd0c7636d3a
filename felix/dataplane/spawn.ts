// Starting the dataplane's commands (ipset, iptables-restore, ip) without copying the agent's
// address space.
//
// Node's child_process starts a program with fork() and then exec(): fork copies the page tables
// of the whole process, and until the child execs, every page the agent writes takes a fault to be
// copied. For an agent holding a large cluster in memory that is milliseconds of its own CPU, on
// its event loop, for every command of every dataplane pass. glibc's posix_spawn starts the
// program in a child that shares the parent's memory and runs only until exec (clone with
// CLONE_VM | CLONE_VFORK), so the cost does not grow with the agent's size; Go's os/exec starts
// programs the same way for the same reason. posix_spawn and the pipes are called through koffi,
// a foreign-function package with prebuilt binaries.
//
// What the child gets: the argv, found on PATH as execvp does; the agent's environment at the
// time of the call; stdin, stdout and stderr each a pipe or /dev/null; no other descriptor (all of
// Node's and ours are close-on-exec); every signal at its default action and none blocked (Node
// ignores SIGPIPE, which an exec would otherwise pass on). A program that cannot be started
// (not found, not executable) is an 'error' event, as with child_process.
//
// Exit status: Node reaps only the children it started itself, so these are reaped here with
// waitpid(WNOHANG), polled once the child's output pipes have closed (a program's exit closes
// them), backing off up to POLL_MAX_MS while a child that closed them early goes on running.
//
// Where koffi or posix_spawn cannot be loaded (a single-file executable such as margay-cni, which
// carries no native modules, or a C library without it), commands start through child_process;
// spawnMethod() says which is in use and why, for the agent to log.
import { type ChildProcess, spawn as forkSpawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { Readable, Writable } from 'node:stream';

/** What a started command looks like to its caller: the subset of ChildProcess the dataplane uses. */
export interface SpawnedChild {
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: 'spawn', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
}

export type StdioMode = 'pipe' | 'ignore';

/** The longest wait between two checks for the exit of a child whose pipes have closed. */
export const POLL_MAX_MS = 50;

// Flags and sizes of glibc on Linux (spawn.h, signal.h, fcntl.h, wait.h).
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const O_CLOEXEC = 0o2000000;
const O_RDWR = 0o2;
const WNOHANG = 1;
/** Room for posix_spawn_file_actions_t and posix_spawnattr_t, opaque here (80 and 336 bytes). */
const OPAQUE_BYTES = 512;
/** Room for sigset_t (128 bytes). */
const SIGSET_BYTES = 128;

interface Libc {
  posix_spawnp(
    pid: number[],
    file: string,
    actions: Buffer,
    attr: Buffer,
    argv: (string | null)[],
    envp: (string | null)[],
  ): number;
  actionsInit(actions: Buffer): number;
  actionsDestroy(actions: Buffer): number;
  actionsDup2(actions: Buffer, fd: number, to: number): number;
  actionsOpen(actions: Buffer, fd: number, path: string, flags: number, mode: number): number;
  attrInit(attr: Buffer): number;
  attrDestroy(attr: Buffer): number;
  attrSetFlags(attr: Buffer, flags: number): number;
  attrSetSigmask(attr: Buffer, set: Buffer): number;
  attrSetSigdefault(attr: Buffer, set: Buffer): number;
  sigemptyset(set: Buffer): number;
  sigfillset(set: Buffer): number;
  pipe2(fds: number[], flags: number): number;
  waitpid(pid: number, status: number[], options: number): number;
  close(fd: number): number;
  errno(): number;
}

type Method = { readonly libc: Libc } | { readonly libc: undefined; readonly reason: string };

let method: Method | undefined;

function loadLibc(): Method {
  try {
    // Loaded at run time by name, so bundles that cannot carry native modules leave it out.
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const fn = (signature: string) => lib.func(signature) as (...args: unknown[]) => number;
    const posixSpawnp = fn(
      'int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)',
    );
    const pipe2 = fn('int pipe2(_Out_ int *fds, int flags)');
    const waitpid = fn('int waitpid(int pid, _Out_ int *status, int options)');
    const libc: Libc = {
      posix_spawnp: (pid, file, actions, attr, argv, envp) =>
        posixSpawnp(pid, file, actions, attr, argv, envp),
      actionsInit: fn('int posix_spawn_file_actions_init(void *actions)'),
      actionsDestroy: fn('int posix_spawn_file_actions_destroy(void *actions)'),
      actionsDup2: fn('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
      actionsOpen: fn(
        'int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)',
      ),
      attrInit: fn('int posix_spawnattr_init(void *attr)'),
      attrDestroy: fn('int posix_spawnattr_destroy(void *attr)'),
      attrSetFlags: fn('int posix_spawnattr_setflags(void *attr, short flags)'),
      attrSetSigmask: fn('int posix_spawnattr_setsigmask(void *attr, void *set)'),
      attrSetSigdefault: fn('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
      sigemptyset: fn('int sigemptyset(void *set)'),
      sigfillset: fn('int sigfillset(void *set)'),
      pipe2: (fds, flags) => pipe2(fds, flags),
      waitpid: (pid, status, options) => waitpid(pid, status, options),
      close: fn('int close(int fd)'),
      errno: () => koffi.errno(),
    };
    return { libc };
  } catch (err) {
    return { libc: undefined, reason: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

function current(): Method {
  method ??= loadLibc();
  return method;
}

/** How commands start: through posix_spawn, or through child_process and why. */
export function spawnMethod():
  | { readonly method: 'posix_spawn' }
  | { readonly method: 'fork'; readonly reason: string } {
  const m = current();
  return m.libc !== undefined ? { method: 'posix_spawn' } : { method: 'fork', reason: m.reason };
}

/**
 * Starts `argv` (the program found on PATH) with each of stdin, stdout and stderr a pipe or
 * /dev/null. Failure to start is an 'error' event on the result, as with child_process.spawn.
 */
export function spawnChild(
  argv: readonly string[],
  stdio: readonly [StdioMode, StdioMode, StdioMode],
): SpawnedChild {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('spawnChild: empty argv');
  const m = current();
  if (m.libc === undefined)
    return forkSpawn(file, args, { stdio: [...stdio] }) as ChildProcess & SpawnedChild;
  return new LibcChild(m.libc, argv, stdio);
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

class LibcChild extends EventEmitter implements SpawnedChild {
  readonly pid: number | undefined;
  readonly stdin: Writable | null = null;
  readonly stdout: Readable | null = null;
  readonly stderr: Readable | null = null;
  readonly #libc: Libc;
  #reaped = false;
  #openStreams = 0;
  #outputOpen = 0;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(libc: Libc, argv: readonly string[], stdio: readonly [StdioMode, StdioMode, StdioMode]) {
    super();
    this.#libc = libc;
    // The parent's end and the child's end of each pipe; -1 where the child gets /dev/null.
    const ours = [-1, -1, -1];
    const theirs = [-1, -1, -1];
    const closeAll = (fds: number[]) => {
      for (const fd of fds) if (fd >= 0) libc.close(fd);
    };
    let failure: { readonly call: string; readonly errno: number } | undefined;
    for (let i = 0; i < 3 && failure === undefined; i++) {
      if (stdio[i] !== 'pipe') continue;
      const fds = [0, 0];
      if (libc.pipe2(fds, O_CLOEXEC) !== 0) {
        failure = { call: 'pipe2', errno: libc.errno() };
        break;
      }
      // fds[0] reads, fds[1] writes: the child reads stdin and writes stdout and stderr.
      ours[i] = i === 0 ? fds[1]! : fds[0]!;
      theirs[i] = i === 0 ? fds[0]! : fds[1]!;
    }
    let pid: number | undefined;
    if (failure === undefined) {
      const actions = Buffer.alloc(OPAQUE_BYTES);
      const attr = Buffer.alloc(OPAQUE_BYTES);
      const none = Buffer.alloc(SIGSET_BYTES);
      const all = Buffer.alloc(SIGSET_BYTES);
      libc.actionsInit(actions);
      libc.attrInit(attr);
      try {
        for (let i = 0; i < 3; i++) {
          if (theirs[i]! >= 0) libc.actionsDup2(actions, theirs[i]!, i);
          else libc.actionsOpen(actions, i, '/dev/null', O_RDWR, 0);
        }
        libc.sigemptyset(none);
        libc.sigfillset(all);
        libc.attrSetSigmask(attr, none);
        libc.attrSetSigdefault(attr, all);
        libc.attrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
        const out = [0];
        const rc = libc.posix_spawnp(out, argv[0]!, actions, attr, [...argv, null], [...env, null]);
        if (rc === 0) pid = out[0];
        else failure = { call: `spawn ${argv[0]}`, errno: rc };
      } finally {
        libc.actionsDestroy(actions);
        libc.attrDestroy(attr);
        closeAll(theirs);
      }
    }
    if (pid === undefined) {
      // As child_process reports it: 'error', then 'close' with the negated errno; the streams
      // exist, the output ones already ended and stdin taking writes to nowhere.
      closeAll(ours);
      this.pid = undefined;
      this.#reaped = true;
      if (stdio[0] === 'pipe') this.stdin = new Writable({ write: (_chunk, _encoding, done) => done() });
      if (stdio[1] === 'pipe') this.stdout = Readable.from([]);
      if (stdio[2] === 'pipe') this.stderr = Readable.from([]);
      const errno = failure?.errno ?? constants.errno.EINVAL;
      const code = errnoName(errno);
      const err = Object.assign(new Error(`${failure?.call ?? 'spawn'} ${code}`), { code, errno: -errno });
      process.nextTick(() => {
        this.emit('error', err);
        this.emit('close', -errno, null);
      });
      return;
    }
    this.pid = pid;
    if (ours[0]! >= 0)
      this.stdin = this.#stream(new Socket({ fd: ours[0]!, readable: false, writable: true }), false);
    if (ours[1]! >= 0)
      this.stdout = this.#stream(new Socket({ fd: ours[1]!, readable: true, writable: false }), true);
    if (ours[2]! >= 0)
      this.stderr = this.#stream(new Socket({ fd: ours[2]!, readable: true, writable: false }), true);
    process.nextTick(() => this.emit('spawn'));
    if (this.#outputOpen === 0) this.#poll(0);
  }

  /** Counts a stream until it closes; an output stream's end starts the wait for the exit. */
  #stream(socket: Socket, output: boolean): Socket {
    this.#openStreams++;
    if (output) this.#outputOpen++;
    let ended = false;
    const outputDone = () => {
      if (ended || !output) return;
      ended = true;
      if (--this.#outputOpen === 0) this.#poll(0);
    };
    socket.once('end', outputDone);
    socket.once('close', () => {
      outputDone();
      this.#openStreams--;
      this.#maybeClose();
    });
    return socket;
  }

  /** Checks for the exit now, then again after `delayMs` (doubling) until the child is reaped. */
  #poll(delayMs: number): void {
    const check = () => {
      if (this.#reaped) return;
      const status = [0];
      const r = this.#libc.waitpid(this.pid!, status, WNOHANG);
      if (r === 0) {
        this.#poll(Math.min(POLL_MAX_MS, Math.max(1, delayMs * 2)));
        return;
      }
      this.#reaped = true;
      this.#exit = r < 0 ? { code: null, signal: null } : decodeStatus(status[0]!);
      this.emit('exit', this.#exit.code, this.#exit.signal);
      this.#maybeClose();
    };
    if (delayMs === 0) setImmediate(check);
    else setTimeout(check, delayMs);
  }

  #maybeClose(): void {
    if (this.#exit === undefined || this.#openStreams > 0) return;
    const { code, signal } = this.#exit;
    this.#exit = undefined;
    this.emit('close', code, signal);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    // A reaped child's PID may belong to another process by now.
    if (this.#reaped || this.pid === undefined) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** waitpid's status as child_process reports it: an exit code, or the signal that ended it. */
function decodeStatus(status: number): { code: number | null; signal: NodeJS.Signals | null } {
  const low = status & 0x7f;
  if (low === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNAL_NAMES.get(low) ?? null };
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}
