// GoBGP's `global rib -j` paths, normalised to the interop tests' DaemonPath.
import type { GobgpHandle } from '../lib/gobgp.ts';
import type { DaemonPath } from './matrix.ts';

interface GobgpAttr {
  type: number;
  value?: unknown;
  nexthop?: string;
  as_paths?: { asns?: number[] }[];
  communities?: number[];
  value_list?: unknown;
  [k: string]: unknown;
}

interface GobgpPathJson {
  nlri?: { prefix?: string };
  attrs?: GobgpAttr[];
  'neighbor-ip'?: string;
  'source-id'?: string;
}

function extCommunity(e: Record<string, unknown>): string {
  // gobgp -j: {"type":0,"subtype":2,"value":"64512:5"}
  const kind =
    e.subtype === 2 ? 'rt' : e.subtype === 3 ? 'soo' : `type${String(e.type)}-${String(e.subtype)}`;
  return `${kind}:${String(e.value)}`;
}

export async function gobgpPaths(g: GobgpHandle, prefix: string): Promise<DaemonPath[]> {
  const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
  let j: Record<string, GobgpPathJson[]>;
  try {
    j = await g.gobgpJson<Record<string, GobgpPathJson[]>>(['global', 'rib', '-a', family, prefix]);
  } catch (err) {
    if (/not found|no such/i.test(String(err))) return [];
    throw err;
  }
  const out: DaemonPath[] = [];
  for (const paths of Object.values(j ?? {})) {
    for (const p of paths ?? []) {
      const attrs = p.attrs ?? [];
      const find = (t: number) => attrs.find((a) => a.type === t);
      const nh = find(3)?.nexthop ?? find(14)?.nexthop;
      const large = (find(32)?.value ?? []) as Record<string, number>[];
      const ext = (find(16)?.value ?? []) as Record<string, unknown>[];
      const originator = find(9)?.value;
      const cluster = find(10)?.value;
      out.push({
        prefix,
        from: p['neighbor-ip'] ?? '',
        nextHops: nh === undefined ? [] : [nh],
        asPath: (find(2)?.as_paths ?? []).flatMap((s) => s.asns ?? []),
        communities: (find(8)?.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`),
        largeCommunities: large.map(
          (l) =>
            `${l.global_admin ?? l.GlobalAdmin ?? l.ASN}:${l.local_data1 ?? l.LocalData1}:${l.local_data2 ?? l.LocalData2}`,
        ),
        extCommunities: ext.map(extCommunity),
        ...(typeof originator === 'string' && { originatorId: originator }),
        clusterList: Array.isArray(cluster) ? (cluster as string[]) : [],
      });
    }
  }
  return out;
}
