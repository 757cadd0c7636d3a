// ExaBGP 4.2 as a scriptable peer. It runs in the foreground inside a lab namespace, configured
// entirely by environment (no /etc/exabgp, no named-pipe CLI):
//   exabgp_daemon_user=root exabgp_daemon_drop=false exabgp_daemon_daemonize=false
//   exabgp_daemon_pid=DIR/exabgp.pid exabgp_api_cli=false exabgp_api_ack=false
//   exabgp_log_destination=stdout exabgp_tcp_bind='' (never listens; it connects out)
//   exabgp DIR/exabgp.conf
// Two helper processes are wired into every neighbor:
//   - `commands`: `tail -n +1 -F DIR/commands` — `exabgpSend` appends API lines ("announce route …",
//     "withdraw route …", "announce route-refresh …", "teardown 2") to that file, which is how
//     routes are injected while the session runs.
//   - `events`: DIR/events-sink, a two-line `cat >> DIR/events.jsonl` script — ExaBGP's JSON
//     API output (state changes, received OPEN/UPDATE/NOTIFICATION/REFRESH) lands in a file that
//     `exabgpEvents` parses. (Not `dd of=…`: dd reopens stdout, which ExaBGP reads as the helper
//     dying; not socat: ExaBGP's `run` tokenizer splits on commas.)
//
// Malformed input: ExaBGP 4.2 has no command to send raw message bytes (checked: its API
// registers announce/withdraw/eor/route-refresh/operational only), but a route may carry any
// path attribute as raw bytes — `attribute [ 0xTYPE 0xFLAGS 0xDATA ]` — see `exabgpRawAttribute`.
// That produces UPDATEs with unknown, duplicated or malformed optional attributes for RFC 7606
// tests. For arbitrary whole messages use `rawpeer.ts`.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../../../src/lab/lab.ts';
import type { ProcessHandle } from '../../../src/lab/netns.ts';
import { waitFor } from '../../../src/lab/wait.ts';

export interface ExabgpHandle {
  readonly ns: string;
  readonly pid: number;
  readonly dir: string;
  readonly logFile: string;
  readonly commandsFile: string;
  readonly eventsFile: string;
  readonly process: ProcessHandle;
  stop(): Promise<void>;
}

let exaCount = 0;

/** The environment that makes ExaBGP run as a foreground, self-contained process. */
export function exabgpEnv(dir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    exabgp_daemon_user: 'root',
    exabgp_daemon_drop: 'false',
    exabgp_daemon_daemonize: 'false',
    exabgp_daemon_pid: join(dir, 'exabgp.pid'),
    exabgp_api_cli: 'false',
    exabgp_api_ack: 'false',
    exabgp_log_destination: 'stdout',
    exabgp_log_level: 'INFO',
    exabgp_log_packets: 'true',
    exabgp_tcp_bind: '',
  };
}

/**
 * Start ExaBGP with `config` (use `exabgpConfig` to build one; it wires in the `commands` and
 * `events` processes, whose paths are substituted for `@COMMANDS@` and `@EVENTS_SINK@`).
 */
export async function startExabgp(lab: Lab, ns: string, config: string): Promise<ExabgpHandle> {
  const id = `exabgp-${ns.slice(lab.prefix.length)}-${exaCount++}`;
  const dir = lab.mkdir(id);
  const commandsFile = join(dir, 'commands');
  const eventsFile = join(dir, 'events.jsonl');
  writeFileSync(commandsFile, '');
  writeFileSync(eventsFile, '');
  const sink = join(dir, 'events-sink');
  // No `exec`: the shell must keep its stdout (ExaBGP's pipe) open, or ExaBGP sees EOF and
  // decides the helper died.
  writeFileSync(sink, `#!/bin/sh\ncat >> '${eventsFile}'\n`, { mode: 0o755 });
  const conf = join(dir, 'exabgp.conf');
  writeFileSync(
    conf,
    config
      .replaceAll('@COMMANDS@', commandsFile)
      .replaceAll('@EVENTS_SINK@', sink)
      .replaceAll('@EVENTS@', eventsFile),
  );
  const env = exabgpEnv(dir);
  await lab.exec(ns, ['exabgp', '--validate', conf], { env });
  const proc = lab.spawn(ns, ['exabgp', conf], { name: id, env, cwd: dir });
  const handle: ExabgpHandle = {
    ns,
    pid: proc.pid,
    dir,
    logFile: proc.logFile,
    commandsFile,
    eventsFile,
    process: proc,
    stop: () => proc.stop(),
  };
  await waitFor(
    () => {
      if (proc.exitStatus()) throw new Error(`exabgp exited: ${JSON.stringify(proc.exitStatus())}`);
      return existsSync(join(dir, 'exabgp.pid'));
    },
    { describe: `exabgp in ${ns} to start (log ${proc.logFile})`, timeoutMs: 10_000 },
  );
  return handle;
}

/** Append one API command, e.g. "neighbor 192.0.2.1 announce route 10.244.9.0/24 next-hop self". */
export function exabgpSend(exa: ExabgpHandle, command: string): void {
  if (command.includes('\n')) throw new Error('exabgpSend: one command per call');
  appendFileSync(exa.commandsFile, `${command}\n`);
}

export interface ExabgpEvent {
  readonly type: string; // state, update, open, notification, refresh, keepalive, …
  readonly neighbor?: {
    readonly address?: { readonly peer?: string; readonly local?: string };
    readonly state?: string;
    readonly message?: Record<string, unknown>;
  };
  readonly [k: string]: unknown;
}

/** Every JSON event ExaBGP has written so far. */
export function exabgpEvents(exa: ExabgpHandle): ExabgpEvent[] {
  const lines = readFileSync(exa.eventsFile, 'utf8').split('\n');
  lines.pop(); // the text after the last newline is a line still being written
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ExabgpEvent);
}

/** Last reported session state for `peer` ("up", "down", "connected", …), if any. */
export function exabgpPeerState(exa: ExabgpHandle, peer: string): string | undefined {
  let state: string | undefined;
  for (const e of exabgpEvents(exa)) {
    if (e.type === 'state' && e.neighbor?.address?.peer === peer) state = e.neighbor.state;
  }
  return state;
}

export async function waitExabgpUp(exa: ExabgpHandle, peer: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => exabgpPeerState(exa, peer), {
    describe: `exabgp ${exa.ns} session with ${peer} up`,
    until: (s) => s === 'up',
    timeoutMs,
  });
}

/** A generic path attribute as raw bytes for a route line: `attribute [ 0xTT 0xFF 0xDATA ]`. */
export function exabgpRawAttribute(typeCode: number, flags: number, data: Uint8Array): string {
  const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
  return `attribute [ ${hex(typeCode)} ${hex(flags)} 0x${Buffer.from(data).toString('hex')} ]`;
}

// ---------------------------------------------------------------------------------------------
// Config generator

export interface ExabgpNeighborConfig {
  readonly address: string;
  readonly localAddress: string;
  readonly remoteAs: number;
  readonly localAs: number;
  readonly routerId: string;
  readonly families?: readonly ('ipv4 unicast' | 'ipv6 unicast')[];
  readonly holdTime?: number;
  /** Lines for the `capability { }` block, e.g. ['route-refresh;', 'graceful-restart 120;']. */
  readonly capabilities?: readonly string[];
  /** Route lines for `static { }`, e.g. ['route 10.244.9.0/24 next-hop self community [65000:1];']. */
  readonly routes?: readonly string[];
  /** Disable the 4-octet AS capability (a 2-octet-AS speaker). */
  readonly as4?: boolean;
}

export function exabgpConfig(neighbors: readonly ExabgpNeighborConfig[]): string {
  const out = [
    '# generated by test/interop/lib/exabgp.ts',
    'process commands {',
    '  run /usr/bin/tail -n +1 -F @COMMANDS@;',
    '  encoder text;',
    '}',
    'process events {',
    '  run @EVENTS_SINK@;',
    '  encoder json;',
    '}',
  ];
  for (const n of neighbors) {
    out.push(`neighbor ${n.address} {`);
    out.push(`  router-id ${n.routerId};`, `  local-address ${n.localAddress};`);
    out.push(`  local-as ${n.localAs};`, `  peer-as ${n.remoteAs};`, `  hold-time ${n.holdTime ?? 90};`);
    out.push('  family {', ...(n.families ?? ['ipv4 unicast']).map((f) => `    ${f};`), '  }');
    const caps = [...(n.capabilities ?? [])];
    if (n.as4 === false) caps.push('asn4 disable;');
    if (caps.length) out.push('  capability {', ...caps.map((c) => `    ${c}`), '  }');
    out.push('  api {', '    processes [ commands ];', '  }');
    out.push('  api {', '    processes [ events ];', '    neighbor-changes;');
    out.push('    receive { parsed; update; notification; open; refresh; }', '  }');
    if (n.routes?.length) out.push('  static {', ...n.routes.map((r) => `    ${r}`), '  }');
    out.push('}');
  }
  return `${out.join('\n')}\n`;
}
