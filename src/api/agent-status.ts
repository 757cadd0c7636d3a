// What the REST API shows of a node agent (src/api/server.ts StatusSource), built from the agent's
// read-only view (src/daemon/view.ts): /v1/status, /readyz, /metrics and the /v1/dataplane/*
// endpoints with their schemas.
//
// Readiness: the datastore has synced and its last update was accepted, this node is in it, the
// BGP speaker runs, and the dataplane's last pass succeeded. A single local pod whose interface is
// missing does not make the node unready (Calico's felix also keeps going): one broken pod must not
// take the node out of service; the dataplane lists it in /v1/status and counts it in /metrics.

import type { AgentView } from '../daemon/view.ts';
import type { ResourceKind } from '../model/resource.ts';
import { VERSION } from '../version.ts';
import type { MetricFamily } from './metrics.ts';
import { dataplanePolicySchema, dataplaneRoutesSchema } from './schemas.ts';
import type { ProbeResult, StatusSource } from './server.ts';

/** The kinds margay_calc_problems always has a sample for (a problem names its kind first). */
const PROBLEM_KINDS: readonly ResourceKind[] = [
  'Node',
  'Pod',
  'Namespace',
  'NetworkPolicy',
  'BGPConfiguration',
  'BGPPeer',
  'IPPool',
];

export function agentReadiness(view: AgentView): ProbeResult {
  const ds = view.datastore();
  if (!ds.ready)
    return {
      ok: false,
      code: 'DATASTORE_NOT_SYNCED',
      reason: `datastore not synced${ds.lastError ? `: ${ds.lastError}` : ''}`,
    };
  if (ds.lastError) return { ok: false, code: 'DATASTORE_ERROR', reason: `datastore: ${ds.lastError}` };
  if (!view.node())
    return {
      ok: false,
      code: 'NODE_UNKNOWN',
      reason: `node ${view.nodeName} is not in the datastore or has no address`,
    };
  if (!view.speakerStarted())
    return { ok: false, code: 'BGP_NOT_STARTED', reason: 'BGP speaker not started' };
  const dp = view.dataplane()?.status();
  if (dp && !dp.ready)
    return {
      ok: false,
      code: 'DATAPLANE_NOT_PROGRAMMED',
      reason: `dataplane not programmed${dp.lastError ? `: ${dp.lastError.message}` : ''}`,
    };
  return { ok: true };
}

/** The current problems counted by kind (the first word of each). */
function problemsByKind(problems: readonly string[]): Map<string, number> {
  const byKind = new Map<string, number>();
  for (const p of problems) {
    const kind = p.slice(0, Math.max(0, p.indexOf(' '))) || p;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  return byKind;
}

export function agentMetrics(view: AgentView): MetricFamily[] {
  const ds = view.datastore();
  const byKind = problemsByKind(view.problems());
  const dp = view.dataplane()?.status();
  const families: MetricFamily[] = [
    {
      name: 'margay_datastore_ready',
      help: '1 when the datastore has synced and its last update was accepted.',
      type: 'gauge',
      samples: [{ value: ds.ready && !ds.lastError ? 1 : 0 }],
    },
    {
      name: 'margay_calc_problems',
      help: 'Problems the calculation reports now (objects it refused or skipped), by object kind.',
      type: 'gauge',
      samples: [
        ...PROBLEM_KINDS.map((kind) => ({ labels: { kind }, value: byKind.get(kind) ?? 0 })),
        ...[...byKind]
          .filter(([kind]) => !(PROBLEM_KINDS as readonly string[]).includes(kind))
          .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
          .map(([kind, value]) => ({ labels: { kind }, value })),
      ],
    },
    {
      name: 'margay_bgp_announced_prefixes',
      help: 'Pod CIDRs this node announces (only after their blackhole is programmed).',
      type: 'gauge',
      samples: [{ value: view.announced().length }],
    },
  ];
  if (dp) {
    families.push(
      {
        name: 'margay_dataplane_in_sync',
        help: '1 when the last dataplane pass succeeded and nothing is pending.',
        type: 'gauge',
        samples: [{ value: dp.inSync ? 1 : 0 }],
      },
      {
        name: 'margay_dataplane_apply_failures_total',
        help: 'Dataplane passes that failed (each is retried with backoff).',
        type: 'counter',
        samples: [{ value: dp.totalFailures }],
      },
      {
        name: 'margay_dataplane_routes',
        help: 'Kernel routes Margay wants, by state.',
        type: 'gauge',
        samples: [
          { labels: { state: 'programmed' }, value: dp.counts.routesProgrammed },
          { labels: { state: 'conflict' }, value: dp.counts.routeConflicts },
        ],
      },
      {
        name: 'margay_dataplane_endpoints_not_programmed',
        help: 'Local pods not programmed, by reason (interface_missing: their host veth does not exist).',
        type: 'gauge',
        samples: [{ labels: { reason: 'interface_missing' }, value: dp.counts.endpointsMissingInterface }],
      },
      {
        name: 'margay_dataplane_last_apply_seconds',
        help: 'Duration of the last dataplane pass.',
        type: 'gauge',
        samples: [{ value: (dp.lastDurationMs ?? 0) / 1000 }],
      },
    );
  }
  return families;
}

/** The REST API's source for a node agent; `extraMetrics` come first in /metrics (process, BGP log). */
export function agentStatusSource(
  view: AgentView,
  extraMetrics: () => readonly MetricFamily[],
): StatusSource {
  return {
    status: () => {
      const peers = view.peers();
      const node = view.node();
      const reconcileError = view.lastReconcileError();
      return {
        version: VERSION,
        mode: 'agent',
        hostname: view.nodeName,
        asn: node?.asn,
        routerId: node?.routerId,
        uptimeSeconds: (Date.now() - view.startedAt) / 1000,
        ready: agentReadiness(view).ok,
        peers: { total: peers.length, established: peers.filter((p) => p.state === 'Established').length },
        node: node ?? null,
        announced: view.announced(),
        problems: [...view.problems(), ...(reconcileError ? [reconcileError] : [])],
        dataplane: view.dataplane()?.status() ?? null,
      };
    },
    peers: () => view.peers(),
    routes: (filter) => view.routes(filter),
    metrics: () => [...extraMetrics(), ...agentMetrics(view)],
    live: () => ({ ok: true }),
    ready: () => agentReadiness(view),
    extraRoutes: [
      {
        path: '/v1/dataplane/routes',
        summary:
          'Kernel routes Margay wants, each with its reason and state (programmed, pending, conflict, failed)',
        response: dataplaneRoutesSchema,
        handler: () => ({ routes: view.dataplane()?.listRoutes() ?? [] }),
      },
      {
        path: '/v1/dataplane/policy',
        summary: 'iptables rules and ipsets Margay programs, each with the policy it comes from',
        response: dataplanePolicySchema,
        handler: () => view.dataplane()?.describeRules() ?? { rules: [], ipsets: [] },
      },
    ],
  };
}
