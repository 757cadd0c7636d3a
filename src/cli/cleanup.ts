// `margay cleanup`: removes everything Margay owns on this node — routes with its protocol
// number, mgy- chains and their jumps (both iptables backends and families), mgy ipsets, the
// vxlan.margay device — and nothing else. For uninstalling (README "Uninstall").
//
// BGP: cleanup runs no speaker; it runs after the agent has stopped. The agent's SIGTERM stop is
// a restart as far as BGP knows (Speaker.stop without `hardReset`: Cease / Administrative Reset,
// RFC 8538), so peers that exchanged the N bit keep this node's routes as stale until its
// restart time (120 s, GRACEFUL_RESTART_TIME) runs out. A permanent removal that must not leave
// them there stops the speaker with `hardReset: true` (Cease / Hard Reset: peers flush at once);
// the speaker decides per peer (Hard Reset only where N was exchanged). Other nodes send a
// Hard Reset themselves when this node leaves the datastore (Peer De-configured, RFC 8538 §5.1).
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
