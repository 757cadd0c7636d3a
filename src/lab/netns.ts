// Network-namespace primitives for the interop lab (`margay lab` and the interop tests).
//
// Everything here runs real commands (`ip`, `ip netns exec`) with argv arrays — never a shell
// string — and every failure names the exact command. Links are always created *inside* a lab
// namespace (`ip -n NS link add … peer … netns OTHER`), so nothing is ever created in, or attached
// to, the machine's own namespace; namespaces get no default route.
//
// Processes started with `spawnIn` lead their own process group (detached), so `stop()` can
// signal the daemon together with any helper it forked (ExaBGP's `process` children) by that
// group id — never by name.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface ExecOptions {
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  readonly allowFailure?: boolean;
  /** Kill the command after this many milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Written to the command's stdin. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly result: ExecResult;
  constructor(argv: readonly string[], result: ExecResult) {
    super(
      `command failed (exit ${result.code}): ${formatArgv(argv)}\n` +
        `stderr: ${result.stderr.trim() || '(empty)'}\nstdout: ${result.stdout.trim() || '(empty)'}`,
    );
    this.name = 'CommandError';
    this.argv = argv;
    this.result = result;
  }
}

export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

/** Run a command on the host (in the test runner's namespace). */
export function execHost(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('execHost: empty argv');
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 256 * 1024 * 1024,
        env: opts.env ?? process.env,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
          if (typeof e.code === 'number') code = e.code;
          else if (e.killed) code = 124;
          else {
            reject(new Error(`cannot run ${formatArgv(argv)}: ${err.message}`, { cause: err }));
            return;
          }
        }
        const result = { stdout, stderr, code };
        if (code !== 0 && !opts.allowFailure) reject(new CommandError(argv, result));
        else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Run `argv` inside network namespace `ns` via `ip netns exec`. */
export function exec(ns: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return execHost(['ip', 'netns', 'exec', ns, ...argv], opts);
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await execHost(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Create a namespace and bring its loopback up. */
export async function createNamespace(name: string): Promise<void> {
  await execHost(['ip', 'netns', 'add', name]);
  await execHost(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  // Lab namespaces route between their own links only (forwarding on for route-reflector/transit
  // labs); there is never a default route.
  await exec(name, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  await exec(name, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  // No duplicate address detection on links created later, so link-local addresses are usable at
  // once too (`nodad` covers only the addresses we add): a BIRD started while its fe80:: address is
  // still "tentative" announces IPv6 routes without the link-local next hop.
  await exec(name, ['sysctl', '-q', '-w', 'net.ipv6.conf.default.accept_dad=0']);
  await exec(name, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0']);
}

/** PIDs of processes whose network namespace is `name`. */
export async function namespacePids(name: string): Promise<number[]> {
  const { stdout } = await execHost(['ip', 'netns', 'pids', name], { allowFailure: true });
  return stdout
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Delete a namespace; missing namespaces are not an error (teardown is idempotent). */
export async function deleteNamespace(name: string): Promise<void> {
  const existing = await listNamespaces();
  if (!existing.includes(name)) return;
  await execHost(['ip', 'netns', 'del', name]);
}

export interface InterfaceAddresses {
  /** e.g. "192.0.2.1/24" */
  readonly ipv4?: string;
  /** e.g. "2001:db8::1/64" — added with `nodad` so it is usable at once. */
  readonly ipv6?: string;
}

export interface VethEnd extends InterfaceAddresses {
  readonly ns: string;
  /** Interface name inside `ns` (≤ 15 characters). */
  readonly ifname: string;
}

export async function addAddresses(ns: string, ifname: string, addrs: InterfaceAddresses): Promise<void> {
  if (addrs.ipv4) await execHost(['ip', '-n', ns, 'addr', 'add', addrs.ipv4, 'dev', ifname]);
  if (addrs.ipv6) await execHost(['ip', '-n', ns, '-6', 'addr', 'add', addrs.ipv6, 'dev', ifname, 'nodad']);
}

/** A veth pair with one end in each namespace, both up and addressed. */
export async function createVeth(a: VethEnd, b: VethEnd): Promise<void> {
  for (const end of [a, b]) {
    if (end.ifname.length > 15) throw new Error(`interface name too long (max 15): ${end.ifname}`);
  }
  await execHost([
    'ip',
    '-n',
    a.ns,
    'link',
    'add',
    a.ifname,
    'type',
    'veth',
    'peer',
    'name',
    b.ifname,
    'netns',
    b.ns,
  ]);
  for (const end of [a, b]) {
    await addAddresses(end.ns, end.ifname, end);
    await execHost(['ip', '-n', end.ns, 'link', 'set', end.ifname, 'up']);
  }
}

/**
 * An L2 "underlay segment": a bridge living in its own namespace `switchNs` (so the host's
 * namespace is never touched) with one veth per member. Members are added with `attachToSegment`.
 */
export async function createSegmentBridge(switchNs: string, bridge = 'br0'): Promise<void> {
  await execHost(['ip', '-n', switchNs, 'link', 'add', bridge, 'type', 'bridge']);
  // No STP and no forwarding delay: ports forward as soon as they are up.
  await execHost(['ip', '-n', switchNs, 'link', 'set', bridge, 'type', 'bridge', 'stp_state', '0']);
  await execHost(['ip', '-n', switchNs, 'link', 'set', bridge, 'type', 'bridge', 'forward_delay', '0']);
  await execHost(['ip', '-n', switchNs, 'link', 'set', bridge, 'up']);
}

export async function attachToSegment(
  switchNs: string,
  bridge: string,
  port: string,
  member: VethEnd,
): Promise<void> {
  await createVeth({ ns: switchNs, ifname: port }, member);
  await execHost(['ip', '-n', switchNs, 'link', 'set', port, 'master', bridge]);
}

export interface SpawnOptions {
  /** stdout and stderr are appended to this file. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface ProcessHandle {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly logFile: string;
  /** Exit code / signal once exited, else undefined. */
  readonly exitStatus: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /**
   * Let this process outlive ours: the event loop no longer waits for it (`margay lab up` starts
   * daemons and exits; a later `margay lab down` stops them by PID).
   */
  unref(): void;
}

/**
 * Start a long-running process inside `ns`. `ip netns exec` execs the command, so `pid` is the
 * daemon itself. The process leads its own process group.
 */
export function spawnIn(ns: string, argv: readonly string[], opts: SpawnOptions): ProcessHandle {
  const full = ['ip', 'netns', 'exec', ns, ...argv];
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(full[0] as string, full.slice(1), {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`failed to spawn: ${formatArgv(full)}`);
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve();
    });
  });
  // Signals go to the process group we created (the daemon and helpers it forked). Only while the
  // leader is known to be alive do we fall back to its own PID, so a recycled PID is never hit.
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      if (status !== undefined) return;
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  return {
    pid,
    argv: full,
    logFile: opts.logFile,
    exitStatus: () => status,
    unref: () => child.unref(),
    async stop(graceMs = 5_000): Promise<void> {
      if (status !== undefined) {
        // The leader is gone; make sure helpers in its group are too.
        signalGroup('SIGKILL');
        return;
      }
      signalGroup('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), graceMs);
      });
      const outcome = await Promise.race([exited.then(() => 'exited' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        signalGroup('SIGKILL');
        await exited;
      }
      // Helpers that outlived the leader (same group) do not survive it.
      signalGroup('SIGKILL');
    },
  };
}

// ICMP echo without a `ping` binary (none is installed here): a raw socket from the system
// python3, run inside the namespace. Exit 0 when a matching echo reply arrives.
const PING_PY = `
import os, select, socket, struct, sys, time
addr, timeout = sys.argv[1], float(sys.argv[2])
v6 = ':' in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
def csum(b):
    if len(b) % 2: b += b'\\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
body = b'margay-lab'
pkt = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, ident, 1) + body
if not v6: pkt = pkt[:2] + struct.pack('!H', csum(pkt)) + pkt[4:]
s.sendto(pkt, (addr, 0))
end = time.time() + timeout
while time.time() < end:
    r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
    if not r: break
    data = s.recv(2048)
    if not v6: data = data[(data[0] & 15) * 4:]
    typ, _, _, rid, _ = struct.unpack('!BBHHH', data[:8])
    if typ == (129 if v6 else 0) and rid == ident: sys.exit(0)
sys.exit(1)
`;

/** Send one ICMP/ICMPv6 echo from `ns` to `address`; true when the reply arrives in time. */
export async function ping(ns: string, address: string, timeoutMs = 2_000): Promise<boolean> {
  const r = await exec(ns, ['/usr/bin/python3', '-c', PING_PY, address, String(timeoutMs / 1000)], {
    allowFailure: true,
    timeoutMs: timeoutMs + 5_000,
  });
  return r.code === 0;
}
