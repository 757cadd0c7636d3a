// The BGP speaker as the agent drives it: started from the calculated identity (AS number, router
// id, cluster id, port) and started anew when that identity changes; handed the announcements and
// the peers when they moved; its peers shown with the kind of peer the calculation made them.
import type { BestPathChange, LocalRoute, PeerConfig, PeerStatus } from '../../bgp/index.ts';
import { Speaker } from '../../bgp/index.ts';
import type { CalculatedState, DesiredPeer, PeerType } from '../calc/types.ts';
import { log } from '../log.ts';
import { Announcements } from './desired.ts';

export interface AgentSpeakerOptions {
  readonly hostname: string;
  /** Where to listen; null: no listening socket (outgoing sessions only). */
  readonly listenAddress: string | null;
  /** Whether we restart with routes kept in the kernel (RFC 4724 §4.1 R bit in our OPENs). */
  readonly restarting: () => boolean;
  readonly onBestPath: (e: BestPathChange) => void;
  /** A new speaker replaced the old one: the best paths learned by the old one are gone. */
  readonly onReplaced: () => void;
}

export class AgentSpeaker {
  readonly #opts: AgentSpeakerOptions;
  readonly #announcements = new Announcements();
  #speaker: Speaker | null = null;
  #key = '';
  #handedPeers: readonly DesiredPeer[] | undefined;
  #peerTypes = new Map<string, PeerType>();

  constructor(opts: AgentSpeakerOptions) {
    this.#opts = opts;
  }

  get started(): boolean {
    return this.#speaker !== null;
  }

  /** The pod CIDRs announced now. */
  get announced(): readonly string[] {
    return this.#announcements.announced;
  }

  /** Start the speaker, or a new one when its identity changed; true when one was started. */
  async ensure(state: CalculatedState): Promise<boolean> {
    const { listenPort, ...options } = state.speaker;
    const key = JSON.stringify([options.asn, options.routerId, options.clusterId, listenPort]);
    if (this.#speaker && key === this.#key) return false;
    if (this.#speaker) {
      log('info', 'agent.speaker-restart', { reason: 'AS number, router id, cluster id or port changed' });
      // Another AS or router id is another speaker: peers must not keep our routes (RFC 8538 §3).
      await this.#speaker.stop({ message: 'BGP identity changed', hardReset: true });
      this.#opts.onReplaced();
      this.#handedPeers = undefined;
      this.#announcements.reset();
    }
    const listen = this.#opts.listenAddress;
    const speaker = new Speaker({
      ...options,
      hostname: this.#opts.hostname,
      listen: listen !== null ? { address: listen, port: listenPort } : null,
      gracefulRestartRestarting: this.#opts.restarting(),
      // RFC 4724 F bit: the kernel keeps forwarding to this node's pods while the agent is away
      // (stop() leaves the kernel as it is), so helpers keep our routes until our End-of-RIB.
      gracefulRestartForwardingPreserved: true,
    });
    speaker.on('bestPathChanged', (e) => this.#opts.onBestPath(e));
    await speaker.start();
    this.#speaker = speaker;
    this.#key = key;
    return true;
  }

  /** Hand over the announcements `programmed` says are ready (every one when it is undefined). */
  announce(announcements: readonly LocalRoute[], programmed?: (prefix: string) => boolean): void {
    const routes = this.#announcements.next(announcements, programmed);
    if (routes !== undefined) this.#speaker?.setLocalRoutes(routes);
  }

  /** Hand over the peers when they are not the ones handed last. */
  setPeers(peers: readonly DesiredPeer[]): void {
    if (peers === this.#handedPeers || this.#speaker === null) return;
    this.#peerTypes = new Map(peers.map((p) => [p.address, p.peerType]));
    this.#speaker.setPeers(peers.map(({ peerType: _t, source: _s, ...peer }): PeerConfig => peer));
    this.#handedPeers = peers;
  }

  /** The raw peer states; undefined before the speaker exists. */
  peerStates(): PeerStatus[] | undefined {
    return this.#speaker?.peers();
  }

  /** The peers with the kind of peer the calculation made each. */
  peers(): (PeerStatus & { peerType?: PeerType })[] {
    return (this.#speaker?.peers() ?? []).map((p) => ({ ...p, peerType: this.#peerTypes.get(p.address) }));
  }

  get speaker(): Speaker | null {
    return this.#speaker;
  }

  async stop(message: string): Promise<void> {
    await this.#speaker?.stop({ message });
  }
}
