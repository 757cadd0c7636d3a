// ObjectMeta as Margay reads it. The fields the API server fills in (creationTimestamp,
// managedFields, ownerReferences, …) are accepted and dropped, so objects from a watch and objects
// copied from `kubectl get -o yaml` validate; any other key is an error, so a typo such as
// `label:` is reported instead of silently selecting nothing.
import { z } from 'zod';
import { annotations, labels, namespaceName, objectName } from './fields.ts';

export const MARGAY_GROUP = 'margay.io';
export const MARGAY_API_VERSION = `${MARGAY_GROUP}/v1`;

const SERVER_FIELDS = {
  generateName: z.unknown().optional(),
  creationTimestamp: z.unknown().optional(),
  deletionTimestamp: z.unknown().optional(),
  deletionGracePeriodSeconds: z.unknown().optional(),
  generation: z.unknown().optional(),
  ownerReferences: z.unknown().optional(),
  finalizers: z.unknown().optional(),
  managedFields: z.unknown().optional(),
  selfLink: z.unknown().optional(),
} as const;

const common = {
  name: objectName.describe('The object name.'),
  labels: labels.default({}).describe('Labels, matched by selectors.'),
  annotations: annotations.default({}),
  resourceVersion: z.string().optional(),
  uid: z.string().optional(),
};

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly resourceVersion?: string;
  readonly uid?: string;
}

function pick(m: {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion?: string | undefined;
  uid?: string | undefined;
}) {
  return {
    name: m.name,
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    labels: m.labels,
    annotations: m.annotations,
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
  };
}

/** Metadata of a cluster-scoped object: a namespace is an error. */
export const clusterMeta = z
  .strictObject({
    ...common,
    namespace: z.never({ error: 'must be absent: this kind is cluster-scoped' }).optional(),
    ...SERVER_FIELDS,
  })
  .transform((m) => pick({ ...m, namespace: undefined }) as ClusterObjectMeta);

/** Metadata of a namespaced object: the namespace defaults to `default`, as with kubectl. */
export const namespacedMeta = z
  .strictObject({
    ...common,
    namespace: namespaceName.default('default'),
    ...SERVER_FIELDS,
  })
  .transform((m) => pick(m) as NamespacedObjectMeta);

export interface ClusterObjectMeta extends ObjectMeta {
  readonly namespace?: undefined;
}

export interface NamespacedObjectMeta extends ObjectMeta {
  readonly namespace: string;
}
