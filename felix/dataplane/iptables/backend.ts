// Which iptables backend to write with: `legacy` (x_tables) or `nft` (nf_tables through the
// iptables-nft compatibility layer). Writing with the other one than kube-proxy and the rest of the
// node use splits the ruleset in two and each half is invisible to the other's tools.
//
// Detection follows Felix (felix/iptables/feature_detect.go): kubelet's hint chain
// KUBE-IPTABLES-HINT (or KUBE-KUBELET-CANARY) names the backend outright; otherwise the backend
// holding more rules wins; when both are empty (a fresh Debian 12 node) it is nft, Debian's default.
import type { InetFamily } from '../../model/iptables.ts';
import type { CommandRunner } from '../exec.ts';
import { run as defaultRun } from '../exec.ts';

export const IPTABLES_BACKENDS = ['nft', 'legacy'] as const;
export type IptablesBackend = (typeof IPTABLES_BACKENDS)[number];

export interface IptablesCommands {
  readonly save: string;
  readonly restore: string;
  /** Extra restore arguments (legacy takes the xtables lock, shared across namespaces). */
  readonly restoreArgs: readonly string[];
}

export function iptablesCommands(backend: IptablesBackend, family: InetFamily): IptablesCommands {
  const base = family === 'inet' ? 'iptables' : 'ip6tables';
  return {
    save: `${base}-${backend}-save`,
    restore: `${base}-${backend}-restore`,
    restoreArgs: backend === 'legacy' ? ['--noflush', '--wait', '10'] : ['--noflush'],
  };
}

export interface BackendEvidence {
  readonly backend: IptablesBackend;
  readonly reason: string;
  readonly ruleCounts: Readonly<Record<IptablesBackend, number>>;
}

const HINT_CHAINS = [':KUBE-IPTABLES-HINT ', ':KUBE-KUBELET-CANARY '];

export async function detectBackend(
  opts: { netns?: string; run?: CommandRunner } = {},
): Promise<BackendEvidence> {
  const exec = opts.run ?? defaultRun;
  const counts: Record<IptablesBackend, number> = { nft: 0, legacy: 0 };
  const hinted: Record<IptablesBackend, boolean> = { nft: false, legacy: false };
  for (const backend of IPTABLES_BACKENDS) {
    for (const family of ['inet', 'inet6'] as const) {
      const argv = [iptablesCommands(backend, family).save];
      const r = await exec({ argv, allowFailure: true, ...(opts.netns ? { netns: opts.netns } : {}) }).catch(
        () => undefined, // binary not installed: that backend holds nothing
      );
      if (r === undefined || r.code !== 0) continue;
      for (const line of r.stdout.split('\n')) {
        if (line.startsWith('-A ')) counts[backend]++;
        else if (HINT_CHAINS.some((h) => line.startsWith(h))) hinted[backend] = true;
      }
    }
  }
  const ruleCounts = { ...counts };
  if (hinted.legacy !== hinted.nft) {
    const backend = hinted.legacy ? 'legacy' : 'nft';
    return { backend, reason: `kubelet hint chain found in the ${backend} backend`, ruleCounts };
  }
  if (counts.legacy > counts.nft) {
    return {
      backend: 'legacy',
      reason: `legacy holds more rules (${counts.legacy} > ${counts.nft})`,
      ruleCounts,
    };
  }
  if (counts.nft > 0) {
    return {
      backend: 'nft',
      reason: `nft holds at least as many rules (${counts.nft} ≥ ${counts.legacy})`,
      ruleCounts,
    };
  }
  return { backend: 'nft', reason: 'both backends are empty; nft is the Debian 12 default', ruleCounts };
}
