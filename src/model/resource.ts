// The resource registry: every kind Margay reads, its apiVersion, scope and schema, and
// `validateResource`, the one entry point both datastores use. Problems read
// "BGPPeer tor-1: spec.asNumber: must be 1..4294967295" so an operator can find the object and
// the field; keys with dots or slashes are bracketed (metadata.annotations["margay.io/as-number"]).
import type { z } from 'zod';
import type { BGPConfiguration, BGPPeer } from './bgp.ts';
import { bgpConfigurationSchema, bgpPeerSchema } from './bgp.ts';
import type { IPPool } from './ippool.ts';
import { ipPoolSchema } from './ippool.ts';
import type { Namespace, NetworkPolicy, Pod } from './kube.ts';
import { namespaceSchema, networkPolicySchema, podSchema } from './kube.ts';
import { MARGAY_API_VERSION } from './meta.ts';
import type { Node } from './node.ts';
import { nodeSchema } from './node.ts';
import type { Secret } from './secret.ts';
import { secretSchema } from './secret.ts';

export type Resource = Node | Pod | Namespace | NetworkPolicy | BGPConfiguration | BGPPeer | IPPool | Secret;
export type ResourceKind = Resource['kind'];
export type ResourceOfKind<K extends ResourceKind> = Extract<Resource, { kind: K }>;

export interface KindInfo {
  readonly kind: ResourceKind;
  readonly apiVersion: string;
  readonly namespaced: boolean;
  /** Lowercase plural, the REST resource name. */
  readonly plural: string;
  readonly schema: z.ZodType;
  /** Defined by a Margay CRD (the others are built into Kubernetes). */
  readonly isCustom: boolean;
  readonly description: string;
}

export const KINDS = {
  Node: {
    kind: 'Node',
    apiVersion: 'v1',
    namespaced: false,
    plural: 'nodes',
    schema: nodeSchema,
    isCustom: false,
    description: 'A Kubernetes node: its pod CIDRs, addresses and Margay annotations.',
  },
  Pod: {
    kind: 'Pod',
    apiVersion: 'v1',
    namespaced: true,
    plural: 'pods',
    schema: podSchema,
    isCustom: false,
    description: 'A Kubernetes pod: node, addresses, labels and container ports.',
  },
  Namespace: {
    kind: 'Namespace',
    apiVersion: 'v1',
    namespaced: false,
    plural: 'namespaces',
    schema: namespaceSchema,
    isCustom: false,
    description: 'A Kubernetes namespace: its labels, matched by NetworkPolicy namespaceSelectors.',
  },
  NetworkPolicy: {
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    namespaced: true,
    plural: 'networkpolicies',
    schema: networkPolicySchema,
    isCustom: false,
    description: 'A Kubernetes NetworkPolicy, enforced with iptables and ipsets.',
  },
  BGPConfiguration: {
    kind: 'BGPConfiguration',
    apiVersion: MARGAY_API_VERSION,
    namespaced: false,
    plural: 'bgpconfigurations',
    schema: bgpConfigurationSchema,
    isCustom: true,
    description:
      'Cluster-wide BGP settings: AS number, node-to-node mesh, timers, communities, per-selector node AS ' +
      'numbers and route reflectors. Only the object named "default" exists.',
  },
  BGPPeer: {
    kind: 'BGPPeer',
    apiVersion: MARGAY_API_VERSION,
    namespaced: false,
    plural: 'bgppeers',
    schema: bgpPeerSchema,
    isCustom: true,
    description:
      'A BGP peering: a router (peerIP, asNumber) or other Margay nodes (peerSelector), for every node, ' +
      'one node, or the nodes a nodeSelector selects.',
  },
  IPPool: {
    kind: 'IPPool',
    apiVersion: MARGAY_API_VERSION,
    namespaced: false,
    plural: 'ippools',
    schema: ipPoolSchema,
    isCustom: true,
    description:
      'A pod address range with its block size, encapsulation (VXLAN/IPIP), NAT and node selector.',
  },
  Secret: {
    kind: 'Secret',
    apiVersion: 'v1',
    namespaced: true,
    plural: 'secrets',
    schema: secretSchema,
    isCustom: false,
    description:
      'A Kubernetes Secret holding BGP passwords. Only the Secrets that BGPPeer password and ' +
      'BGPConfiguration nodeMeshPassword name are read, in the namespace the agent runs in.',
  },
} as const satisfies { [K in ResourceKind]: KindInfo & { kind: K } };

export const KIND_NAMES = Object.keys(KINDS) as ResourceKind[];

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind);
}

/** The snapshot key: `namespace/name` for namespaced kinds, `name` otherwise. */
export function resourceKey(r: {
  readonly metadata: { readonly name: string; readonly namespace?: string };
}): string {
  return r.metadata.namespace !== undefined ? `${r.metadata.namespace}/${r.metadata.name}` : r.metadata.name;
}

/** "BGPPeer tor-1", "Pod default/web-0": how problems name an object. */
export function describeObject(kind: string, obj: unknown): string {
  const meta = (obj as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' && meta.name !== '' ? meta.name : '(no name)';
  const ns = typeof meta?.namespace === 'string' && meta.namespace !== '' ? `${meta.namespace}/` : '';
  const namespaced = isResourceKind(kind) && KINDS[kind].namespaced;
  return `${kind} ${namespaced && ns === '' ? 'default/' : ns}${name}`;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && PLAIN_KEY.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(top level)';
}

type Issue = z.core.$ZodIssue;

/**
 * Flattens zod issues into "path: message". A union ("string or object", "number or name")
 * reports the branch whose type matched, instead of zod's generic "Invalid input".
 */
export function formatIssues(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const typed = issue.errors.filter(
        (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      if (typed.length === 1) {
        out.push(...formatIssues(typed[0]!, path));
        continue;
      }
      const expected = issue.errors.flatMap((b) =>
        b
          .filter((i) => i.code === 'invalid_type' && i.path.length === 0)
          .map((i) => (i as { expected: string }).expected),
      );
      out.push(
        `${formatPath(path)}: must be ${[...new Set(expected)].join(' or ') || 'one of the allowed forms'}`,
      );
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(`${formatPath([...path, key])}: unknown field`);
      continue;
    }
    out.push(`${formatPath(path)}: ${issue.message}`);
  }
  return out;
}

export type ValidationResult<R extends Resource = Resource> =
  | { readonly ok: true; readonly resource: R }
  | { readonly ok: false; readonly problems: readonly string[] };

export interface ValidateOptions {
  /** Assume this kind (and its apiVersion) when the object has none, as in list responses. */
  readonly kind?: ResourceKind;
}

/**
 * Validates one object of any kind. Problems name the kind, the object and the field; an unknown
 * or missing kind, or an apiVersion that does not belong to the kind, is a problem too.
 */
export function validateResource(obj: unknown, options: ValidateOptions = {}): ValidationResult {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    return { ok: false, problems: ['(top level): must be an object with apiVersion, kind and metadata'] };
  let input = obj as Record<string, unknown>;
  if (options.kind !== undefined && input.kind === undefined) {
    input = { apiVersion: KINDS[options.kind].apiVersion, ...input, kind: options.kind };
  }
  const kind = input.kind;
  if (kind === undefined)
    return { ok: false, problems: [`kind: required (one of ${KIND_NAMES.join(', ')})`] };
  if (!isResourceKind(kind))
    return {
      ok: false,
      problems: [`kind: unknown kind ${JSON.stringify(kind)} (expected one of ${KIND_NAMES.join(', ')})`],
    };
  const info: KindInfo = KINDS[kind];
  const who = describeObject(kind, input);
  if (input.apiVersion !== info.apiVersion)
    return {
      ok: false,
      problems: [
        `${who}: apiVersion: must be ${info.apiVersion} for ${kind}, not ${JSON.stringify(input.apiVersion)}`,
      ],
    };
  const result = info.schema.safeParse(input);
  if (!result.success)
    return { ok: false, problems: formatIssues(result.error.issues).map((p) => `${who}: ${p}`) };
  return { ok: true, resource: result.data as Resource };
}

/** Validates an object that must be of `kind`. */
export function validateAs<K extends ResourceKind>(
  kind: K,
  obj: unknown,
): ValidationResult<ResourceOfKind<K>> {
  const r = validateResource(obj, { kind });
  if (r.ok && r.resource.kind !== kind)
    return {
      ok: false,
      problems: [`${describeObject(String(r.resource.kind), obj)}: kind: must be ${kind}`],
    };
  return r as ValidationResult<ResourceOfKind<K>>;
}
