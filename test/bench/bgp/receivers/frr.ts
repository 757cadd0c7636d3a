// FRR as a receiver: zebra plus bgpd in the receiver namespace. bgpd runs with `-n` (no_kernel: it
// never hands routes to zebra, so nothing reaches a kernel table), `-S` (no user switch), `-P 0` (no TCP
// vty), `-z` pointing at our own zebra, and a private `--vty_socket` directory so concurrent FRRs never
// share sockets. zebra is there for next-hop tracking only. bgpd `-Z` (no zebra at all) works too but
// is much slower: every path's next-hop registration fails and is logged (one log line per prefix,
// "sendmsg_nexthop: zclient_send_message() failed"), which is not how anyone runs FRR. Peak RSS is
// bgpd's (zebra's is reported separately as an extra). `no bgp ebgp-requires-policy` because FRR ≥ 7.4 otherwise
// rejects every eBGP route without a policy (RFC 8212).
//
// An outbound deny-all route-map plays the part of BIRD's `export none`: without it bgpd advertises
// every route straight back to the sender, work the other receivers are not asked to do.
//
// Polled over bgpd's vty socket with `show bgp ipv4 unicast summary json`. The peer's pfxRcd counts
// routes accepted into the table; bgpd runs best-path selection afterwards from a work queue, and each
// selection bumps the table version, so the count reported is min(pfxRcd, tableVersion − the table
// version before the session): fed only prefixes it does not hold, it reaches N when the last prefix
// has been through best-path selection. (The version only grows: a closed session's routes bump it
// again as they are removed, so a second session counts from where the first one's removal ended.)

import { chown, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GiveUpError, waitFor } from '../../lib/poll.ts';
import { procStats, spawnTracked } from '../../lib/proc.ts';
import { lastSentPrefixIndex, prefixText } from '../feed.ts';
import { VtyControl } from '../vty.ts';
import { tailOf } from './log.ts';
import type { ReceiverContext, ReceiverDriver, StartedReceiver } from './types.ts';

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
  const f = line?.split(':');
  if (!f || f.length < 4) throw new Error(`no user ${name} in /etc/passwd (is frr installed?)`);
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export function frrConfig(ctx: ReceiverContext): string {
  const peer = ctx.ns.senderAddress;
  return `! ingest benchmark receiver (test/bench/bgp/receivers/frr.ts)
frr defaults traditional
hostname mgyb-bench
!
route-map EXPORT-NONE deny 10
!
router bgp ${ctx.receiverAsn}
 bgp router-id ${ctx.ns.receiverAddress}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${peer} remote-as ${ctx.senderAsn}
 neighbor ${peer} passive
 neighbor ${peer} timers 80 240
 address-family ipv4 unicast
  neighbor ${peer} activate
  neighbor ${peer} route-map EXPORT-NONE out
 exit-address-family
!
`;
}

// `show bgp ipv4 unicast summary json` is this object at the top level; `show bgp summary json` wraps it
// in `ipv4Unicast`. Both are accepted.
interface SummaryJson {
  readonly tableVersion?: number;
  readonly peers?: Record<
    string,
    { readonly pfxRcd?: number; readonly pfxSnt?: number; readonly state?: string }
  >;
  readonly ipv4Unicast?: SummaryJson;
}

export async function startFrr(ctx: ReceiverContext): Promise<StartedReceiver> {
  const conf = join(ctx.dir, 'bgpd.conf');
  const log = join(ctx.dir, 'bgpd.log');
  await writeFile(conf, frrConfig(ctx));
  const frrIds = await userIds('frr');
  const zserv = join(ctx.dir, 'zserv.api');
  const zlog = join(ctx.dir, 'zebra.log');
  await writeFile(join(ctx.dir, 'zebra.conf'), '! ingest benchmark: zebra for next-hop tracking only\n');
  // zebra refuses to run as root unless root is in the frrvty group, so it runs as the packaged `frr`
  // user (it keeps the capabilities it needs) and our private directory is handed to that user.
  await chown(ctx.dir, frrIds.uid, frrIds.gid);
  const zebraArgv = ['/usr/lib/frr/zebra', '-f', join(ctx.dir, 'zebra.conf')];
  zebraArgv.push('-i', join(ctx.dir, 'zebra.pid'), '--vty_socket', ctx.dir, '-z', zserv, '-P', '0');
  zebraArgv.push('--log', 'stdout', '--log-level', 'warn');
  const zebra = spawnTracked(ctx.teardown, 'zebra', zebraArgv, { netns: ctx.ns.receiver, logFile: zlog });
  await waitFor(
    'zebra vty socket',
    async () => {
      if (zebra.hasExited()) throw new GiveUpError(`zebra exited: ${await tailOf(zlog)}`);
      const v = await VtyControl.connect(join(ctx.dir, 'zebra.vty'));
      await v.command('show version');
      v.close();
      return true;
    },
    { timeoutMs: ctx.startTimeoutMs, intervalMs: 20 },
  );
  const argv = [
    '/usr/lib/frr/bgpd',
    '-n',
    '-z',
    zserv,
    '-S',
    '-f',
    conf,
    '-i',
    join(ctx.dir, 'bgpd.pid'),
    '--vty_socket',
    ctx.dir,
    '-P',
    '0',
    '-l',
    ctx.ns.receiverAddress,
    '--log',
    'stdout',
    '--log-level',
    'warn',
  ];
  const proc = spawnTracked(ctx.teardown, 'bgpd', argv, { netns: ctx.ns.receiver, logFile: log });
  const vty = await waitFor(
    'bgpd vty socket',
    async () => {
      if (proc.hasExited()) throw new GiveUpError(`bgpd exited: ${await tailOf(log)}`);
      const v = await VtyControl.connect(join(ctx.dir, 'bgpd.vty'));
      await v.command('show bgp ipv4 unicast summary json');
      return v;
    },
    { timeoutMs: ctx.startTimeoutMs, intervalMs: 20 },
  );
  ctx.teardown.add('bgpd vty connection', () => vty.close());
  const peer = ctx.ns.senderAddress;
  const summary = async (): Promise<{ pfxRcd: number; tableVersion: number }> => {
    const raw = JSON.parse(await vty.command('show bgp ipv4 unicast summary json')) as SummaryJson;
    const j = raw.ipv4Unicast ?? raw;
    return { pfxRcd: j.peers?.[peer]?.pfxRcd ?? 0, tableVersion: j.tableVersion ?? 0 };
  };
  const hasBest = async (prefix: string): Promise<boolean> => {
    const j = JSON.parse(await vty.command(`show bgp ipv4 unicast ${prefix} json`)) as {
      paths?: { bestpath?: { overall?: boolean } }[];
    };
    return (j.paths ?? []).some((p) => p.bestpath?.overall === true);
  };
  const n = ctx.n;
  let baseVersion = 0;
  return {
    pids: [proc.pid],
    minPollMs: 2,
    pollStrategy: 'tight',
    pollMethod: `bgpd vty socket: show bgp ipv4 unicast summary json, min(peers["${peer}"].pfxRcd, tableVersion − its value before the session)`,
    async beforeSession() {
      baseVersion = (await summary()).tableVersion;
    },
    async count() {
      const s = await summary();
      return Math.min(s.pfxRcd, s.tableVersion - baseVersion);
    },
    async verify() {
      const s = await summary();
      if (s.pfxRcd !== n || s.tableVersion - baseVersion !== n) {
        throw new Error(
          `bgpd has pfxRcd ${s.pfxRcd}, tableVersion ${s.tableVersion} (${baseVersion} before the session); expected ${n} more`,
        );
      }
      const last = prefixText(lastSentPrefixIndex(n, ctx.attrSets));
      for (const p of [prefixText(0), prefixText(Math.floor(n / 2)), last]) {
        if (!(await hasBest(p))) throw new Error(`bgpd has no best path for ${p}`);
      }
    },
    async extras() {
      return { zebraPeakRssMb: Math.round((await procStats(zebra.pid)).peakRssBytes / 2 ** 20) };
    },
    logTail: async () => `${await tailOf(log)}\n${await tailOf(zlog, 3)}`,
  };
}

export const frrDriver: ReceiverDriver = { name: 'frr', start: startFrr };
