// Kubernetes Secrets (core/v1) as the BGP passwords read them, and the `secretKeyRef` that names
// one of their keys (BGPPeer `password`, BGPConfiguration `nodeMeshPassword`), shaped as Calico's.
//
// - A Secret is read from the namespace the agent runs in (Calico reads from the namespace of
//   calico-node): a secretKeyRef has no namespace of its own, so a BGPPeer (cluster-scoped) cannot
//   point the agent at another namespace's Secrets.
// - `data` holds base64 values and `stringData` plain ones, as `kubectl apply` accepts both; a
//   key in `stringData` wins over the same key in `data`, as the API server merges them on write.
// - A Secret's values never appear in a problem or a log line: only its name and keys do.
import { z } from 'zod';
import { objectName } from './fields.ts';
import { namespacedMeta } from './meta.ts';

/**
 * Where Secrets are read when the agent is not told its namespace: `default`, where a Secret
 * without a namespace lands (in a file, as with kubectl).
 */
export const DEFAULT_SECRET_NAMESPACE = 'default';

/** A key of a Secret's data: letters, digits, "-", "_" and "." (Kubernetes' rule). */
export const secretKey = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters')
  .regex(/^[-._a-zA-Z0-9]*$/, 'must be letters, digits, "-", "_" and "."');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const secretSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: namespacedMeta,
  type: z.string().optional(),
  immutable: z.boolean().optional(),
  data: z
    .record(secretKey, z.string({ error: 'must be a base64 string' }).regex(BASE64, 'must be base64'))
    .default({}),
  stringData: z.record(secretKey, z.string({ error: 'must be a string' })).default({}),
});

export type Secret = z.output<typeof secretSchema>;

/** The value of `key` in `secret` (stringData first, then the decoded data), or undefined. */
export function secretValue(secret: Secret, key: string): string | undefined {
  if (Object.hasOwn(secret.stringData, key)) return secret.stringData[key];
  if (!Object.hasOwn(secret.data, key)) return undefined;
  return Buffer.from(secret.data[key]!, 'base64').toString('utf8');
}

/** `{ secretKeyRef: { name, key } }`: a key of a Secret in the agent's namespace. */
export const secretKeyRefField = z.strictObject(
  {
    secretKeyRef: z.strictObject(
      {
        name: objectName.describe('The Secret, in the namespace the Margay agent runs in.'),
        key: secretKey.describe('The key in the Secret whose value is the password.'),
      },
      { error: 'must be an object {name, key}' },
    ),
  },
  { error: 'must be an object {secretKeyRef: {name, key}}' },
);

export type SecretKeyRef = z.output<typeof secretKeyRefField>['secretKeyRef'];

export const PASSWORD_DESCRIPTION =
  'RFC 2385 TCP-MD5 password (1..80 octets), read from a Secret in the namespace the Margay agent ' +
  'runs in: {secretKeyRef: {name, key}}. A missing Secret or key leaves the session out, with a ' +
  'problem naming them; a changed value re-keys this session only.';
