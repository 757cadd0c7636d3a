// `margayctl get nodes|bgppeers|ippools`: the datastore's view, as calicoctl get shows it.
import { stringify as toYaml } from 'yaml';
import { renderTable } from '../cli/table.ts';
import { MargayError } from '../errors.ts';
import { DEFAULT_BGP_CONFIGURATION_SPEC } from '../model/bgp.ts';
import { nodeAnnotationSettings, nodePodCIDRs, resolveNodeBGP } from '../model/node.ts';
import type { Snapshot } from '../model/snapshot.ts';

export const GET_KINDS = ['nodes', 'bgppeers', 'ippools'] as const;
export type GetKind = (typeof GET_KINDS)[number];

function selectorText(s: unknown): string {
  if (s === undefined) return '';
  return typeof s === 'string' ? s : JSON.stringify(s);
}

function labelsText(labels: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Node address for display and for reaching its API: annotation, else the first InternalIP. */
export function nodeAddress(node: Parameters<typeof nodePodCIDRs>[0], family: 4 | 6): string | undefined {
  const own = nodeAnnotationSettings(node);
  const annotated = family === 4 ? own.ipv4Address : own.ipv6Address;
  if (annotated) return annotated.address;
  const internal = node.status.addresses.find(
    (a) => a.type === 'InternalIP' && a.address.includes(':') === (family === 6),
  );
  return internal?.address;
}

export function renderGet(kind: GetKind, snapshot: Snapshot, format: string): string {
  const config = snapshot.bgpConfigurations.get('default')?.spec ?? DEFAULT_BGP_CONFIGURATION_SPEC;
  const wide = format === 'wide';
  const sorted = <T>(m: ReadonlyMap<string, T>) =>
    [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  if (format === 'json' || format === 'yaml') {
    const items =
      kind === 'nodes'
        ? sorted(snapshot.nodes)
        : kind === 'bgppeers'
          ? sorted(snapshot.bgpPeers)
          : sorted(snapshot.ipPools);
    const list = { apiVersion: 'v1', kind: 'List', items };
    return format === 'json' ? `${JSON.stringify(list, null, 2)}\n` : toYaml(list);
  }
  let headers: string[];
  let rows: string[][];
  switch (kind) {
    case 'nodes':
      headers = ['NAME', 'ASN', 'IPV4', 'IPV6', 'POD CIDRS', ...(wide ? ['RR CLUSTER ID', 'LABELS'] : [])];
      rows = sorted(snapshot.nodes).map((n) => {
        const bgp = resolveNodeBGP(n, config);
        return [
          n.metadata.name,
          `${bgp.asNumber}${bgp.asNumberSource === 'default' ? '' : ` (${bgp.asNumberSource})`}`,
          nodeAddress(n, 4) ?? '',
          nodeAddress(n, 6) ?? '',
          nodePodCIDRs(n).join(','),
          ...(wide ? [bgp.routeReflectorClusterID ?? '', labelsText(n.metadata.labels)] : []),
        ];
      });
      break;
    case 'bgppeers':
      headers = [
        'NAME',
        'PEER IP',
        'PEER SELECTOR',
        'AS',
        'NODE',
        ...(wide ? ['SOURCE', 'HOLD', 'NEXT HOP', 'RR CLIENT'] : []),
      ];
      rows = sorted(snapshot.bgpPeers).map((p) => [
        p.metadata.name,
        p.spec.peerIP ?? '',
        selectorText(p.spec.peerSelector),
        p.spec.asNumber === undefined ? '(node AS)' : String(p.spec.asNumber),
        p.spec.node ?? (p.spec.nodeSelector === undefined ? '(all)' : selectorText(p.spec.nodeSelector)),
        ...(wide
          ? [
              p.spec.sourceAddress,
              p.spec.holdTime === undefined ? '' : String(p.spec.holdTime),
              p.spec.nextHopMode,
              String(p.spec.routeReflectorClient),
            ]
          : []),
      ]);
      break;
    case 'ippools':
      headers = [
        'NAME',
        'CIDR',
        'VXLAN',
        'IPIP',
        'NAT',
        'DISABLED',
        ...(wide ? ['BLOCK SIZE', 'NODE SELECTOR'] : []),
      ];
      rows = sorted(snapshot.ipPools).map((p) => [
        p.metadata.name,
        p.spec.cidr,
        p.spec.vxlanMode,
        p.spec.ipipMode,
        String(p.spec.natOutgoing),
        String(p.spec.disabled),
        ...(wide ? [String(p.spec.blockSize ?? ''), selectorText(p.spec.nodeSelector) || 'all()'] : []),
      ]);
      break;
    default:
      throw new MargayError('MARGAY_ERR_USAGE', `margayctl get: unknown kind "${String(kind)}"`);
  }
  return rows.length === 0 ? `No ${kind} found.\n` : `${renderTable(headers, rows)}\n`;
}
