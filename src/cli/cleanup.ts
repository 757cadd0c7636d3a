// `margay cleanup`: removes everything Margay owns on this node — routes with its protocol
// number, mgy- chains and their jumps (both iptables backends and families), mgy ipsets, the
// vxlan.margay device — and nothing else. For uninstalling (README "Uninstall").
import { Dataplane } from '../../felix/dataplane/dataplane.ts';

export async function runCleanup(): Promise<number> {
  const report = await new Dataplane({ resyncIntervalMs: 0 }).cleanup();
  process.stdout.write(
    `removed ${report.routesDeleted} routes, ${report.chainsDeleted.length} chains, ` +
      `${report.jumpsRemoved.length} jumps, ${report.ipsetsDestroyed.length} ipsets, ` +
      `${report.linksDeleted.length} devices\n`,
  );
  return 0;
}
