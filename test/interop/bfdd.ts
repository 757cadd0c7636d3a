// FRR's bfdd beside the zebra and bgpd of a lab FRR (src/lab/frr.ts), on the same zebra socket
// and vty directory, so `frr.vtysh` reaches it too: single-hop peers, each with its intervals.
import { chownSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrrHandle, Lab, ProcessHandle } from './lib/index.ts';
import { waitFor } from './lib/index.ts';

export interface BfddPeer {
  readonly address: string;
  readonly local: string;
  readonly ifname: string;
  readonly intervalMs: number;
}

/** Starts bfdd with `peers`; resolves when it answers `show bfd peers json`. */
export async function startBfdd(
  lab: Lab,
  frr: FrrHandle,
  peers: readonly BfddPeer[],
): Promise<ProcessHandle> {
  const conf = join(frr.dir, 'bfdd.conf');
  const lines = ['hostname bfdd', 'bfd'];
  for (const p of peers)
    lines.push(
      ` peer ${p.address} local-address ${p.local} interface ${p.ifname}`,
      `  receive-interval ${p.intervalMs}`,
      `  transmit-interval ${p.intervalMs}`,
      '  detect-multiplier 3',
      ' !',
    );
  writeFileSync(conf, `${[...lines, '!'].join('\n')}\n`);
  const { uid, gid } = statSync(frr.dir);
  chownSync(conf, uid, gid);
  const bfdd = lab.spawn(
    frr.ns,
    [
      '/usr/lib/frr/bfdd',
      '-i',
      join(frr.dir, 'bfdd.pid'),
      '-z',
      join(frr.dir, 'zserv.api'),
      '--vty_socket',
      frr.dir,
      '--bfdctl',
      join(frr.dir, 'bfdd.sock'),
      '-P',
      '0',
      '--log',
      `file:${join(frr.dir, 'bfdd.log')}`,
      '-f',
      conf,
    ],
    { name: `${frr.dir.split('/').pop() ?? 'frr'}-bfdd` },
  );
  await waitFor(
    async () => {
      if (bfdd.exitStatus()) throw new Error(`bfdd exited: ${JSON.stringify(bfdd.exitStatus())}`);
      return (await frr.vtysh('show bfd peers json')).includes('[');
    },
    { describe: `bfdd in ${frr.ns} to answer vtysh (log ${bfdd.logFile})`, timeoutMs: 10_000 },
  );
  return bfdd;
}
