// IPPool (margay.io/v1, cluster-scoped), Calico's shape: the pod address range, its block size for
// IPAM, the encapsulation used for routes into it (Always, CrossSubnet = tunnel only between
// subnets, Never), outgoing NAT and which nodes use it.
//
// blockSize defaults by family (26 for IPv4, 122 for IPv6, Calico's defaults), so the CRD has no
// default for it and the output type always carries one. IPIP is IPv4-only, and a pool has at
// most one encapsulation.
import { z } from 'zod';
import { cidr, cidrRange, selectorField } from './fields.ts';
import { clusterMeta, MARGAY_API_VERSION } from './meta.ts';

export const ENCAPSULATION_MODES = ['Always', 'CrossSubnet', 'Never'] as const;
export type EncapsulationMode = (typeof ENCAPSULATION_MODES)[number];

export const DEFAULT_BLOCK_SIZE = { ipv4: 26, ipv6: 122 } as const;

export const ipPoolSpecSchema = z
  .strictObject({
    cidr: cidr.describe('The pool: pod addresses come from here (10.244.0.0/16, fd00:10:244::/56).'),
    blockSize: z
      .number()
      .int('must be an integer')
      .min(20, 'must be 20..32 (IPv4) or 116..128 (IPv6)')
      .max(128, 'must be 20..32 (IPv4) or 116..128 (IPv6)')
      .optional()
      .describe(
        'Prefix length of the per-node blocks: 20..32 for IPv4 (default 26), 116..128 for IPv6 (default 122).',
      ),
    vxlanMode: z
      .enum(ENCAPSULATION_MODES)
      .default('Never')
      .describe(
        'VXLAN for routes into this pool: Always, CrossSubnet (only to nodes in another subnet) or Never.',
      ),
    ipipMode: z
      .enum(ENCAPSULATION_MODES)
      .default('Never')
      .describe('IP-in-IP (IPv4 pools only): Always, CrossSubnet or Never.'),
    natOutgoing: z
      .boolean()
      .default(false)
      .describe('Masquerade traffic from pods in this pool leaving the pool.'),
    disabled: z.boolean().default(false).describe('No new addresses are allocated from a disabled pool.'),
    nodeSelector: selectorField('The nodes that allocate from this pool; default all().').default('all()'),
  })
  .superRefine((s, ctx) => {
    const range = cidrRange(s.cidr);
    if (range === undefined) return; // the cidr field reported it
    const v4 = range.bits === 32;
    if (s.blockSize !== undefined) {
      const [lo, hi] = v4 ? [20, 32] : [116, 128];
      if (s.blockSize < lo || s.blockSize > hi)
        ctx.addIssue({
          code: 'custom',
          path: ['blockSize'],
          message: `must be ${lo}..${hi} for an IPv${v4 ? 4 : 6} pool`,
        });
      else if (s.blockSize < range.length)
        ctx.addIssue({
          code: 'custom',
          path: ['blockSize'],
          message: `must be at least the pool's prefix length /${range.length}`,
        });
    }
    if (s.vxlanMode !== 'Never' && s.ipipMode !== 'Never')
      ctx.addIssue({
        code: 'custom',
        path: ['ipipMode'],
        message: `must be Never when vxlanMode is ${s.vxlanMode} (one encapsulation per pool)`,
      });
    if (!v4 && s.ipipMode !== 'Never')
      ctx.addIssue({
        code: 'custom',
        path: ['ipipMode'],
        message: 'must be Never for an IPv6 pool (IPIP is IPv4-only)',
      });
  })
  .transform((s) => ({
    ...s,
    blockSize:
      s.blockSize ?? (cidrRange(s.cidr)?.bits === 32 ? DEFAULT_BLOCK_SIZE.ipv4 : DEFAULT_BLOCK_SIZE.ipv6),
  }));

export const ipPoolSchema = z.strictObject({
  apiVersion: z.literal(MARGAY_API_VERSION),
  kind: z.literal('IPPool'),
  metadata: clusterMeta,
  spec: ipPoolSpecSchema,
});

export type IPPoolSpec = z.output<typeof ipPoolSpecSchema>;
export type IPPool = z.output<typeof ipPoolSchema>;
