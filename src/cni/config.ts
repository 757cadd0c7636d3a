// margay-cni's network configuration (stdin, CNI spec 1.0 "Network configuration"), validated with
// messages that name the field. Example (the .conflist the init container writes; portmap after):
//
//   { "cniVersion": "1.0.0", "name": "k8s-pod-network", "plugins": [
//     { "type": "margay-cni", "mtu": 1450,
//       "ipam": { "type": "margay", "podCIDRsFile": "/var/lib/margay/pod-cidrs",
//                 "dataDir": "/var/lib/margay/ipam" },
//       "log": { "file": "/var/log/margay/cni.log", "level": "info" } },
//     { "type": "portmap", "capabilities": { "portMappings": true }, "snat": true } ] }
//
// IPAM takes the node's pod CIDRs either inline (`ranges`, host-local's shape: one inner list per
// address family handed out, each a list of alternative ranges) or from `podCIDRsFile`, written
// by the agent or the init container from the Node's spec.podCIDRs (one CIDR per line, or JSON
// `{"podCIDRs": [...]}`); a missing file is "try again later" (CNI code 11), so pods created
// before the agent has written it are retried by the kubelet instead of failing for good.
//
// Top-level fields the runtime adds (prevResult, runtimeConfig, capabilities, args, the GC
// attachment list) are accepted; unknown fields inside `ipam` and `log` are errors (typos).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatIssues } from '../config/fields.ts';
import { type AddressRange, parseRange } from './ipam.ts';
import { CniError, type CniVersion, isSupportedVersion } from './spec.ts';

export const DEFAULT_IPAM_DATA_DIR = '/var/lib/margay/ipam';
export const DEFAULT_ROUTE_PROTOCOL = 109;

const rangeSchema = z.strictObject({
  subnet: z.string(),
  rangeStart: z.string().optional(),
  rangeEnd: z.string().optional(),
  /** Accepted for host-local compatibility; the pod gateway is always the link-local one. */
  gateway: z.string().optional(),
});

const ipamSchema = z.strictObject({
  type: z.string(),
  ranges: z.array(z.array(rangeSchema).min(1, 'needs at least one range')).min(1).optional(),
  podCIDRsFile: z.string().min(1).optional(),
  dataDir: z.string().min(1).optional(),
});

const dnsSchema = z.strictObject({
  nameservers: z.array(z.string()).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});

const attachmentSchema = z.looseObject({ containerID: z.string(), ifname: z.string() });

const netConfSchema = z.looseObject({
  cniVersion: z.string({ error: 'is required (a string such as "1.0.0")' }),
  name: z
    .string({ error: 'is required' })
    .regex(
      /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
      'must start with a letter or digit and hold only letters, digits, _ . -',
    ),
  type: z.string({ error: 'is required' }),
  mtu: z.number().int().min(68, 'must be 68..65535').max(65535, 'must be 68..65535').optional(),
  ipam: ipamSchema,
  dns: dnsSchema.optional(),
  routeProtocol: z.number().int().min(1, 'must be 1..255').max(255, 'must be 1..255').optional(),
  log: z
    .strictObject({
      file: z.string().min(1).optional(),
      level: z.enum(['error', 'info', 'debug']).optional(),
    })
    .optional(),
  prevResult: z.unknown().optional(),
  'cni.dev/valid-attachments': z.array(attachmentSchema).optional(),
  /** The name of an earlier draft of CNI 1.1; libcni sends both (containernetworking/cni#1101). */
  'cni.dev/attachments': z.array(attachmentSchema).optional(),
});

export interface IpamConfig {
  /** Inline ranges (one inner list per address handed out), or undefined with podCIDRsFile. */
  readonly ranges: readonly (readonly AddressRange[])[] | undefined;
  readonly podCIDRsFile: string | undefined;
  /** The network's directory is `${dataDir}/${name}`. */
  readonly dataDir: string;
}

export interface NetConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  readonly mtu: number | undefined;
  readonly ipam: IpamConfig;
  readonly dns: z.infer<typeof dnsSchema>;
  readonly routeProtocol: number;
  readonly logFile: string | undefined;
  readonly logLevel: 'error' | 'info' | 'debug';
  readonly prevResult: unknown;
  readonly validAttachments: readonly { containerID: string; ifname: string }[] | undefined;
}

/** The cniVersion of a config, if it can be read at all (for the error result's own cniVersion). */
export function peekVersion(text: string): string | undefined {
  try {
    const v = (JSON.parse(text) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && isSupportedVersion(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseNetConf(text: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError('MARGAY_ERR_CNI_DECODE', `network configuration: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const r = netConfSchema.safeParse(raw);
  if (!r.success) {
    throw new CniError('MARGAY_ERR_CNI_CONFIG', `network configuration: ${formatIssues(r.error).join('; ')}`);
  }
  const c = r.data;
  if (!isSupportedVersion(c.cniVersion)) {
    throw new CniError(
      'MARGAY_ERR_CNI_VERSION',
      `cniVersion ${JSON.stringify(c.cniVersion)} is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)`,
    );
  }
  if (c.ipam.type !== 'margay') {
    throw new CniError(
      'MARGAY_ERR_CNI_UNSUPPORTED_FIELD',
      `ipam.type ${JSON.stringify(c.ipam.type)} is not supported: margay-cni has its own IPAM (type "margay")`,
    );
  }
  if ((c.ipam.ranges === undefined) === (c.ipam.podCIDRsFile === undefined)) {
    throw new CniError('MARGAY_ERR_CNI_CONFIG', 'ipam: give exactly one of ranges and podCIDRsFile');
  }
  const ranges = c.ipam.ranges?.map((set, i) => parseRangeSet(set, `ipam.ranges[${i}]`));
  return {
    cniVersion: c.cniVersion,
    name: c.name,
    type: c.type,
    mtu: c.mtu,
    ipam: {
      ranges,
      podCIDRsFile: c.ipam.podCIDRsFile,
      dataDir: c.ipam.dataDir ?? DEFAULT_IPAM_DATA_DIR,
    },
    dns: c.dns ?? {},
    routeProtocol: c.routeProtocol ?? DEFAULT_ROUTE_PROTOCOL,
    logFile: c.log?.file,
    logLevel: c.log?.level ?? 'info',
    prevResult: c.prevResult,
    validAttachments: c['cni.dev/valid-attachments'] ?? c['cni.dev/attachments'],
  };
}

function parseRangeSet(set: readonly z.infer<typeof rangeSchema>[], where: string): AddressRange[] {
  const out = set.map((r, j) => {
    try {
      return parseRange(r);
    } catch (e) {
      throw new CniError('MARGAY_ERR_CNI_CONFIG', `${where}[${j}]: ${(e as Error).message}`);
    }
  });
  const families = new Set(out.map((r) => r.family));
  if (families.size > 1) {
    throw new CniError(
      'MARGAY_ERR_CNI_CONFIG',
      `${where}: mixes IPv4 and IPv6 (use one inner list per family)`,
    );
  }
  return out;
}

/**
 * The range sets of a config: the inline ones, or one per CIDR of the pod CIDR file. A missing
 * file is MARGAY_ERR_CNI_TRY_AGAIN (the agent has not written it yet).
 */
export function resolveRanges(ipam: IpamConfig): (readonly AddressRange[])[] {
  if (ipam.ranges !== undefined) return ipam.ranges.map((s) => [...s]);
  const file = ipam.podCIDRsFile as string;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CniError(
        'MARGAY_ERR_CNI_TRY_AGAIN',
        `pod CIDR file ${file} does not exist yet (the margay agent writes it from the Node's spec.podCIDRs)`,
      );
    }
    throw new CniError('MARGAY_ERR_CNI_IO', `pod CIDR file ${file}: ${(e as Error).message}`, { cause: e });
  }
  const cidrs = parsePodCidrFile(text, file);
  if (cidrs.length === 0) {
    throw new CniError('MARGAY_ERR_CNI_TRY_AGAIN', `pod CIDR file ${file} lists no CIDR yet`);
  }
  const ranges = cidrs.map((cidr) => {
    try {
      return parseRange({ subnet: cidr });
    } catch (e) {
      throw new CniError('MARGAY_ERR_CNI_CONFIG', `pod CIDR file ${file}: ${(e as Error).message}`);
    }
  });
  // At most one CIDR per family is used (Kubernetes gives a node one per family).
  const seen = new Set<number>();
  return ranges.filter((r) => !seen.has(r.family) && seen.add(r.family)).map((r) => [r]);
}

/** One CIDR per line ('#' comments), or JSON `{"podCIDRs": [...]}` / `[...]`. */
export function parsePodCidrFile(text: string, file: string): string[] {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new CniError('MARGAY_ERR_CNI_CONFIG', `pod CIDR file ${file}: not JSON: ${(e as Error).message}`);
    }
    const list = Array.isArray(v) ? v : (v as { podCIDRs?: unknown }).podCIDRs;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw new CniError(
        'MARGAY_ERR_CNI_CONFIG',
        `pod CIDR file ${file}: expected {"podCIDRs": ["CIDR", ...]}`,
      );
    }
    return list as string[];
  }
  return t
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
}
