// `margayctl node status --all`: every node's report in one cluster view. Nodes come from the
// datastore; each node's API is reached at its node address and the API port (the API must listen
// beyond loopback for this, with a bearer token — the Helm chart's `api` values). A node that does
// not answer gets one line naming its address; the others are still shown.
import type { Snapshot } from '../model/snapshot.ts';
import { nodeAddress } from './get.ts';
import { nodeStatusReport, type PeerJson } from './status.ts';

export interface NodeReport {
  readonly node: string;
  readonly api: string;
  readonly status?: { mode: string; version: string };
  readonly peers?: readonly PeerJson[];
  readonly error?: string;
}

export type ApiGet = (api: string, path: string) => Promise<unknown>;

export async function collectClusterStatus(
  snapshot: Snapshot,
  port: number,
  get: ApiGet,
): Promise<NodeReport[]> {
  const nodes = [...snapshot.nodes.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return Promise.all(
    nodes.map(async (n): Promise<NodeReport> => {
      const address = nodeAddress(n, 4) ?? nodeAddress(n, 6);
      if (address === undefined) return { node: n.metadata.name, api: '', error: 'the node has no address' };
      const api = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
      try {
        const status = (await get(api, '/v1/status')) as NodeReport['status'];
        const { peers } = (await get(api, '/v1/bgp/peers')) as { peers: PeerJson[] };
        return { node: n.metadata.name, api, status, peers };
      } catch (err) {
        return { node: n.metadata.name, api, error: (err as Error).message };
      }
    }),
  );
}

export function renderClusterStatus(reports: readonly NodeReport[]): string {
  const up = reports.filter((r) => r.error === undefined).length;
  const lines = [`${up} of ${reports.length} node(s) answered.`, ''];
  for (const r of reports) {
    lines.push(`=== ${r.node} (${r.api || 'no address'})`);
    if (r.error !== undefined || !r.status || !r.peers)
      lines.push(`unreachable: ${r.error ?? 'no answer'}`, '');
    else lines.push(nodeStatusReport(r.status, r.peers));
  }
  return `${lines.join('\n')}\n`;
}
