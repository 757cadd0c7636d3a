// Kubernetes Pods, Namespaces (core/v1) and NetworkPolicies (networking.k8s.io/v1) as the
// calculation reads them. Pods and Namespaces keep only the fields Margay uses (real objects carry
// hundreds more; they are dropped). A NetworkPolicy spec is small and fixed, and a typo in it
// changes who may talk to whom, so its unknown fields are errors. The output types are assignable
// to felix/model/policy.ts (NetworkPolicySpec, ContainerPort), which the calculation feeds.
import { z } from 'zod';
import type { ContainerPort, NetworkPolicySpec } from '../../felix/index.ts';
import { POLICY_PROTOCOLS, POLICY_TYPES } from '../../felix/index.ts';
import { cidrContains, ipAddress, labelSelector, looseCidr, port } from './fields.ts';
import { clusterMeta, namespacedMeta } from './meta.ts';

/** IANA_SVC_NAME: ≤ 15 lowercase letters, digits and single inner hyphens, with a letter. */
export const portName = z
  .string()
  .max(15, 'must be at most 15 characters')
  .regex(/^[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$/, 'must be lowercase letters, digits and inner single hyphens')
  .regex(/[a-z]/, 'must contain a letter');

const protocol = z.enum(POLICY_PROTOCOLS, { error: `must be one of ${POLICY_PROTOCOLS.join(', ')}` });

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;

const containerPort = z.object({
  name: portName.optional(),
  containerPort: port,
  protocol: protocol.optional(),
});

export const podSchema = z
  .strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Pod'),
    metadata: namespacedMeta,
    spec: z
      .object({
        nodeName: z.string().optional(),
        hostNetwork: z.boolean().default(false),
        containers: z
          .array(
            z.object({
              name: z.string().min(1, 'must not be empty'),
              ports: z.array(containerPort).default([]),
            }),
          )
          .default([]),
      })
      .default({ hostNetwork: false, containers: [] }),
    status: z
      .object({
        phase: z.enum(POD_PHASES).optional(),
        podIP: ipAddress.optional(),
        podIPs: z
          .array(z.object({ ip: ipAddress }))
          .max(2, 'must hold at most one IP per family')
          .optional(),
      })
      .default({}),
  })
  .superRefine((p, ctx) => {
    const { podIP, podIPs } = p.status;
    if (podIP !== undefined && podIPs !== undefined && podIPs.length > 0 && podIPs[0]!.ip !== podIP)
      ctx.addIssue({
        code: 'custom',
        path: ['status', 'podIPs', 0, 'ip'],
        message: 'must equal status.podIP',
      });
  });

export type Pod = z.output<typeof podSchema>;

/** Every container port of the pod, in container order. */
export function podContainerPorts(pod: Pod): readonly ContainerPort[] {
  const cs = pod.spec.containers;
  // One container (the common case): its own list, not a copy of it per pod.
  return cs.length === 1 ? cs[0]!.ports : cs.flatMap((c) => c.ports);
}

/** The pod's addresses (status.podIPs, else status.podIP). */
export function podIPs(pod: Pod): string[] {
  if (pod.status.podIPs !== undefined && pod.status.podIPs.length > 0)
    return pod.status.podIPs.map((p) => p.ip);
  return pod.status.podIP !== undefined ? [pod.status.podIP] : [];
}

export const namespaceSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Namespace'),
  metadata: clusterMeta,
  spec: z.object({}).optional(),
  status: z.object({}).optional(),
});

export type Namespace = z.output<typeof namespaceSchema>;

const policyPort = z
  .strictObject({
    protocol: protocol.optional(),
    port: z.union([port, portName]).optional(),
    endPort: port.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.endPort === undefined) return;
    if (typeof p.port !== 'number')
      ctx.addIssue({ code: 'custom', path: ['endPort'], message: 'needs a numeric port' });
    else if (p.endPort < p.port)
      ctx.addIssue({ code: 'custom', path: ['endPort'], message: 'must be at least port' });
  });

const ipBlock = z
  .strictObject({ cidr: looseCidr, except: z.array(looseCidr).optional() })
  .superRefine((b, ctx) => {
    b.except?.forEach((e, i) => {
      if (!cidrContains(b.cidr, e) || e === b.cidr)
        ctx.addIssue({
          code: 'custom',
          path: ['except', i],
          message: `must be a strict subset of ${b.cidr}`,
        });
    });
  });

const policyPeer = z
  .strictObject({
    podSelector: labelSelector.optional(),
    namespaceSelector: labelSelector.optional(),
    ipBlock: ipBlock.optional(),
  })
  .superRefine((p, ctx) => {
    const selectors = p.podSelector !== undefined || p.namespaceSelector !== undefined;
    if (p.ipBlock !== undefined && selectors)
      ctx.addIssue({
        code: 'custom',
        path: ['ipBlock'],
        message: 'must be alone: no podSelector/namespaceSelector',
      });
    if (p.ipBlock === undefined && !selectors)
      ctx.addIssue({ code: 'custom', message: 'must have podSelector, namespaceSelector or ipBlock' });
  });

export const networkPolicySpecSchema = z.strictObject({
  podSelector: labelSelector,
  policyTypes: z.array(z.enum(POLICY_TYPES)).optional(),
  ingress: z
    .array(z.strictObject({ from: z.array(policyPeer).optional(), ports: z.array(policyPort).optional() }))
    .optional(),
  egress: z
    .array(z.strictObject({ to: z.array(policyPeer).optional(), ports: z.array(policyPort).optional() }))
    .optional(),
});

export const networkPolicySchema = z.strictObject({
  apiVersion: z.literal('networking.k8s.io/v1'),
  kind: z.literal('NetworkPolicy'),
  metadata: namespacedMeta,
  spec: networkPolicySpecSchema,
});

export type NetworkPolicy = z.output<typeof networkPolicySchema>;

// Compile-time check: the model's policy spec is what the renderer consumes.
const _specIsRendererInput = (s: z.output<typeof networkPolicySpecSchema>): NetworkPolicySpec => s;
void _specIsRendererInput;
