// `margay cleanup`: removes everything Margay owns on this node — routes with its protocol
// number, mgy- chains and their jumps (both iptables backends and families), mgy ipsets, the
// vxlan.margay device — and nothing else. For uninstalling (README "Uninstall").
//
// BGP: cleanup runs no speaker; it runs after the agent has stopped. The agent's SIGTERM stop is
// a restart as far as BGP knows (Speaker.stop without `hardReset`): peers that negotiated
// graceful restart keep this node's routes as stale until its restart time (120 s unless
// maxRestartTime says otherwise) runs out. Ending the peerings at once is the agent's job while
// it still runs: a BGPPeer deleted before the uninstall makes it send Cease / Peer De-configured
// (a Hard Reset where the N bit was exchanged, RFC 8538 §5.1) and that peer flushes at once
// (README "Uninstall"). Other nodes send a Hard Reset themselves when this node leaves the
// datastore.
import { Dataplane } from '../../felix/index.ts';

export async function runCleanup(): Promise<number> {
  const report = await new Dataplane({ resyncIntervalMs: 0 }).cleanup();
  process.stdout.write(
    `removed ${report.routesDeleted} routes, ${report.chainsDeleted.length} chains, ` +
      `${report.jumpsRemoved.length} jumps, ${report.ipsetsDestroyed.length} ipsets, ` +
      `${report.linksDeleted.length} devices\n`,
  );
  return 0;
}
