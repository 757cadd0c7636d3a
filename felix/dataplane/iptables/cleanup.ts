// `margay cleanup`: remove everything Margay owns from this node's (or a namespace's) dataplane —
// every `mgy-` chain in every table and family, every rule carrying our hash comment in the
// builtin chains, every `mgy…` ipset — and nothing else. It reuses the writers with an empty
// desired state after a fresh read, so it deletes exactly what a normal apply would consider
// stale, in the normal order (iptables first, then the ipsets they referenced). By default both
// backends are cleaned: an agent that ran with the other backend before leaves rules there too.
import { INET_FAMILIES } from '../../model/iptables.ts';
import type { CommandRunner } from '../exec.ts';
import { run as defaultRun } from '../exec.ts';
import { IpsetWriter } from '../ipsets/writer.ts';
import type { IptablesBackend } from './backend.ts';
import { IPTABLES_BACKENDS, iptablesCommands } from './backend.ts';
import { IptablesWriter } from './writer.ts';

export interface CleanupOptions {
  readonly netns?: string;
  readonly run?: CommandRunner;
  /** Only this backend (default: every backend whose tools are installed). */
  readonly backend?: IptablesBackend;
}

export interface CleanupReport {
  readonly chainsDeleted: readonly string[];
  readonly jumpsRemoved: readonly string[];
  readonly ipsetsDestroyed: readonly string[];
}

export async function cleanupAll(opts: CleanupOptions = {}): Promise<CleanupReport> {
  const exec = opts.run ?? defaultRun;
  const ns = opts.netns === undefined ? {} : { netns: opts.netns };
  const chainsDeleted: string[] = [];
  const jumpsRemoved: string[] = [];
  for (const backend of opts.backend === undefined ? IPTABLES_BACKENDS : [opts.backend]) {
    for (const family of INET_FAMILIES) {
      if (opts.backend === undefined) {
        const probe = await exec({
          argv: [iptablesCommands(backend, family).save],
          allowFailure: true,
          ...ns,
        }).catch(() => undefined);
        if (probe === undefined || probe.code !== 0) continue; // tool missing: nothing of ours there
      }
      const writer = new IptablesWriter({ family, backend, run: exec, ...ns });
      writer.setDesired([]);
      const r = await writer.resync();
      chainsDeleted.push(...r.chainsDeleted.map((c) => `${backend}/${family}/${c}`));
      jumpsRemoved.push(...r.jumpsRepaired.map((c) => `${backend}/${family}/${c}`));
    }
  }
  const ipsets = new IpsetWriter({ run: exec, ...ns });
  ipsets.setDesired([]);
  const d = await ipsets.applyDeletions();
  return { chainsDeleted, jumpsRemoved, ipsetsDestroyed: d.destroyed };
}
