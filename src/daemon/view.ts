// A read-only view of a running agent: what the REST API, readiness and metrics are built from
// (src/api/agent-status.ts). The daemon knows nothing about HTTP, schemas or metric names; the API
// knows nothing about how the agent works. Every member reads the agent's state at the time of the
// call.
import type { PathView, PeerStatus, RouteFilter } from '../../bgp/index.ts';
import type { DataplaneIpset, DataplaneRoute, DataplaneRule, DataplaneStatus } from '../../felix/index.ts';
import type { CalculatedState, PeerType } from '../calc/types.ts';

export interface AgentView {
  readonly nodeName: string;
  /** When the agent was made (ms since epoch). */
  readonly startedAt: number;
  /** The datastore: synced, and the error that keeps its last good state in force if any. */
  datastore(): { readonly ready: boolean; readonly lastError: string | undefined };
  /** This node as calculated (AS number, router id, addresses); undefined when not in the datastore. */
  node(): CalculatedState['node'] | undefined;
  /** Whether the BGP speaker has started. */
  speakerStarted(): boolean;
  /** The speaker's peers with the kind of peer the calculation made them (mesh, global, node). */
  peers(): (PeerStatus & { peerType?: PeerType })[];
  routes(filter: RouteFilter): PathView[];
  /** The pod CIDRs announced over BGP now. */
  announced(): readonly string[];
  /** The calculation's problems now (objects refused or skipped), each naming its kind first. */
  problems(): readonly string[];
  /** The error of the last reconcile pass if it failed. */
  lastReconcileError(): string | undefined;
  /** The dataplane; null when the agent does not program one. */
  dataplane(): AgentDataplaneView | null;
}

export interface AgentDataplaneView {
  status(): DataplaneStatus;
  listRoutes(): DataplaneRoute[];
  describeRules(): { rules: DataplaneRule[]; ipsets: DataplaneIpset[] };
}
