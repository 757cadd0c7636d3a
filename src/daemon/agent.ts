// The node daemon's loop and wiring, the only place that connects the two libraries: datastore →
// calculation (feed.ts) → Speaker and Dataplane (desired.ts), and the best paths the speaker learns
// → the calculation. A pass hands the Speaker and the Dataplane only what is new since they were
// last handed it, so a best-path change touches routes only, a pod change does not touch peers.
//
// Rules this file keeps:
// - One owner: every reconcile runs in one loop; a change during a pass causes exactly one more.
// - An invalid object is isolated: the calculation reports it (logged once when it appears and
//   when it is gone, listed and counted by the API) and everything else proceeds.
// - Nothing is withdrawn because the datastore is unhealthy: an API-server outage or an invalid
//   file keeps the last good snapshot, and readiness says why.
// - stop() is a restart, not the end of the peerings: peers that exchanged the RFC 8538 N bit get
//   Cease / Administrative Reset, peers that negotiated graceful restart without it see the TCP
//   connection close without a NOTIFICATION (RFC 4724), and both keep our routes as stale until
//   we are back (Speaker.stop). The kernel is left as it is, so traffic keeps flowing across a
//   restart; the next agent adopts that state without a flap.
// - A restart is a BGP graceful restart (carry-over.ts): the remote routes found in the kernel are
//   adopted before the first pass and before the speaker exists (the R bit), and the peers are
//   configured only after the first announcement pass, so the first UPDATE carries our pod CIDRs
//   before our End-of-RIB (sessions that came up earlier would send an End-of-RIB that makes every
//   peer flush the stale routes to our pod CIDR).
import { hostname } from 'node:os';
import type { CommandRunner, Dataplane } from '../../felix/index.ts';
import type { CalculatedState, NodeIdentity } from '../calc/types.ts';
import type { AgentConfig } from '../config/agent.ts';
import type { Datastore } from '../datastore/types.ts';
import { log } from '../log.ts';
import { CarryOver } from './carry-over.ts';
import { agentDataplane } from './dataplane.ts';
import { DesiredDataplane } from './desired.ts';
import { GraphFeeder } from './feed.ts';
import { detectIdentity } from './interfaces.ts';
import { ProblemLog } from './problems.ts';
import { AgentSpeaker } from './speaker.ts';
import type { AgentView } from './view.ts';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly datastore: Datastore;
  /** Program another network namespace than our own (tests); default: ours. */
  readonly netns?: string;
  /** Runs the dataplane's iptables and ipset commands (a benchmark wraps the real runner). */
  readonly runner?: CommandRunner;
}

export class Agent {
  readonly #config: AgentConfig;
  readonly #datastore: Datastore;
  readonly #nodeName: string;
  readonly #dataplane: Dataplane | null;
  readonly #carryOver: CarryOver | null;
  readonly #feeder: GraphFeeder;
  readonly #speaker: AgentSpeaker;
  readonly #desired = new DesiredDataplane();
  readonly #started = Date.now();
  readonly #problems = new ProblemLog();
  #identity: NodeIdentity | null = null;
  #state: CalculatedState | null = null;
  #dirty = false;
  #loop: Promise<void> | null = null;
  #stopped = false;
  #lastReconcileError: string | undefined;

  constructor(opts: AgentOptions) {
    const { config } = opts;
    this.#config = config;
    this.#datastore = opts.datastore;
    this.#nodeName = config.nodeName ?? process.env.NODENAME ?? hostname();
    const dp = config.dataplane;
    this.#dataplane = dp.enabled ? agentDataplane(dp, opts) : null;
    this.#carryOver = this.#dataplane
      ? new CarryOver({
          dataplane: this.#dataplane,
          peers: () => this.#speaker.peerStates(),
          wantedPeers: () => this.#state?.peers.length ?? 0,
          onSynced: () => this.#schedule(),
        })
      : null;
    this.#feeder = new GraphFeeder({
      snapshot: () => this.#datastore.snapshot(),
      checkIntervalMs: dp.resyncIntervalSeconds * 1000,
      onCheckDue: () => this.#schedule(),
      stopped: () => this.#stopped,
    });
    this.#speaker = new AgentSpeaker({
      hostname: this.#nodeName,
      listenAddress: config.bgp.enabled ? config.bgp.listenAddress : null,
      restarting: () => this.#carryOver?.restarting ?? false,
      onBestPath: (e) => {
        this.#feeder.graph?.setBestPath(e.prefix, e.family, e.nextHops);
        this.#schedule();
      },
      onReplaced: () => this.#feeder.graph?.clearBestPaths(),
    });
  }

  get nodeName(): string {
    return this.#nodeName;
  }

  async start(): Promise<void> {
    this.#datastore.on('ready', () => this.#schedule());
    this.#datastore.on('changed', (e) => {
      this.#feeder.push(e.changes);
      this.#schedule();
    });
    this.#datastore.on('error', (err) =>
      log('warn', 'datastore.error', { code: err.code, error: err.message }),
    );
    await this.#datastore.start();
    if (this.#datastore.ready()) this.#schedule();
  }

  /** Ends the sessions as a restart (peers keep our routes); the kernel state stays as it is. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#carryOver?.stop();
    this.#feeder.stop();
    await this.#loop;
    await this.#datastore.stop();
    await this.#speaker.stop(`margay agent on ${this.#nodeName} shutting down`);
    await this.#dataplane?.stop();
  }

  /** Wait until no reconcile is pending (tests and `lab up`). */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  #schedule(): void {
    this.#dirty = true;
    if (this.#loop || this.#stopped) return;
    this.#loop = (async () => {
      try {
        while (this.#dirty && !this.#stopped) {
          this.#dirty = false;
          try {
            await this.#reconcile();
            this.#lastReconcileError = undefined;
          } catch (err) {
            this.#lastReconcileError = (err as Error).message;
            log('error', 'agent.reconcile', { error: (err as Error).message });
          }
        }
      } finally {
        this.#loop = null;
      }
    })();
  }

  async #reconcile(): Promise<void> {
    if (!this.#datastore.ready()) return;
    this.#identity ??= await detectIdentity(
      this.#config,
      this.#nodeName,
      this.#datastore.snapshot().nodes.get(this.#nodeName),
    );
    const graph = await this.#feeder.feed(this.#identity);
    if (graph === null) return;
    let out = graph.update();
    this.#state = out.state;
    this.#problems.update(out.state.problems);
    if (!out.state.node) return; // not in the datastore (yet): keep whatever is programmed
    await this.#carryOver?.check(); // before the speaker exists: whether routes were kept sets the R bit
    if (await this.#speaker.ensure(out.state)) out = graph.update(); // a new speaker: no best paths yet
    const state = out.state;
    try {
      const dp = this.#dataplane;
      if (dp) {
        const desired = this.#desired.next(out);
        if (desired !== undefined) dp.setDesired(desired);
        // Carried routes are released only once BGP is back and its routes are in the desired
        // state just handed over: a pass with neither would delete routes that come back at once.
        await this.#carryOver?.check();
        await dp.idle();
      }
      this.#speaker.announce(
        state.announcements,
        dp
          ? (prefix) => {
              const r = dp.routeState(prefix);
              return r?.type === 'blackhole' && r.state === 'programmed';
            }
          : undefined,
      );
    } finally {
      // After the announcements: a session that comes up now sends our pod CIDRs, then End-of-RIB.
      this.#speaker.setPeers(state.peers);
    }
  }

  /** What the REST API, readiness and metrics are built from (src/api/agent-status.ts). */
  view(): AgentView {
    return {
      nodeName: this.#nodeName,
      startedAt: this.#started,
      datastore: () => ({
        ready: this.#datastore.ready(),
        lastError: this.#datastore.lastError?.message,
      }),
      node: () => this.#state?.node,
      speakerStarted: () => this.#speaker.started,
      peers: () => this.#speaker.peers(),
      routes: (filter) => this.#speaker.speaker?.routes(filter) ?? [],
      announced: () => this.#speaker.announced,
      problems: () => this.#state?.problems ?? [],
      lastReconcileError: () => this.#lastReconcileError,
      dataplane: () => this.#dataplane,
    };
  }
}
