// Field schemas of the resource model (Kubernetes object shapes). Each one is written so that
// `z.toJSONSchema` can turn it into a structural CRD schema (crds.ts): a plain `type`, with
// `pattern`/`minimum`/`maximum`/`enum` where the check can be expressed that way, and a zod
// refinement for the rest (prefix host bits, label-key rules, selector syntax), which only the
// daemon enforces. Messages name what is expected; formatProblems (resource.ts) adds the path.
import { z } from 'zod';
import {
  HOLD_TIME_MAX,
  HOLD_TIME_RULE,
  holdTimeProblem,
  KEEPALIVE_TIME_MAX,
  parseCommunity,
  parseLargeCommunity,
} from '../../bgp/index.ts';
import {
  cidrContains,
  cidrProblem,
  ipFamily,
  labelKeyProblem,
  labelValueProblem,
  parseCidr,
  parseSelector,
  SELECTOR_OPERATORS,
  SelectorParseError,
  selectorKeys,
} from '../../felix/index.ts';
import { secondsField } from './duration.ts';

export const asNumber = z
  .number({ error: 'must be an AS number 1..4294967295' })
  .int('must be an integer')
  .min(1, 'must be 1..4294967295')
  .max(4294967295, 'must be 1..4294967295');

export const port = z
  .number({ error: 'must be a port number 1..65535' })
  .int('must be an integer')
  .min(1, 'must be 1..65535')
  .max(65535, 'must be 1..65535');

/**
 * RFC 4271 §4.2: 0 (no keepalives) or 3..65535 seconds, by the timer rule of bgp/fsm/hold-time.ts;
 * whole seconds or a duration string ("90s", "3m"). The bounds reach the CRD; the gap at 1 and 2
 * is the daemon's check.
 */
export const holdTime = secondsField({
  max: HOLD_TIME_MAX,
  range: HOLD_TIME_RULE,
  check: holdTimeProblem,
});

/**
 * A keepalive time on its own: whole seconds or a duration string, up to a third of the largest
 * hold time. How it must fit the hold time in force is `keepaliveWithinHold`'s check (bgp.ts), by
 * the same rule.
 */
export const keepaliveTime = secondsField({
  max: KEEPALIVE_TIME_MAX,
  range: `must be 0..${KEEPALIVE_TIME_MAX} seconds`,
});

// DNS-1123 subdomain (object names) and label (namespace names), as Kubernetes validates them.
const SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const objectName = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters')
  .regex(new RegExp(SUBDOMAIN), 'must be a DNS subdomain: lowercase letters, digits, "-" and "."');

export const namespaceName = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(new RegExp(DNS_LABEL), 'must be a DNS label: lowercase letters, digits and "-"');

// IPv4 dotted quad or anything with a colon (IPv6); the refinement checks it exactly.
const IP_PATTERN = '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$';
const CIDR_PATTERN = '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)/[0-9]{1,3}$';

export const ipAddress = z
  .string({ error: 'must be an IP address string' })
  .regex(new RegExp(IP_PATTERN), 'must be an IPv4 or IPv6 address')
  .refine((s) => ipFamily(s) !== undefined, 'must be an IPv4 or IPv6 address');

export const ipv4Address = z
  .string({ error: 'must be an IPv4 address string' })
  .regex(/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/, 'must be an IPv4 address like 192.0.2.1')
  .refine((s) => ipFamily(s) === 4, 'must be an IPv4 address like 192.0.2.1');

function prefixProblem(s: string): string | undefined {
  const why = cidrProblem(s, { hostBits: 'reject' });
  return why === undefined ? undefined : `invalid address or prefix ${JSON.stringify(s)}: ${why}`;
}

/** A network prefix with no host bits set (10.244.0.0/16, 2001:db8::/64). */
export const cidr = z
  .string({ error: 'must be a CIDR string' })
  .regex(new RegExp(CIDR_PATTERN), 'must be a CIDR like 10.244.0.0/16 or 2001:db8::/64')
  .superRefine((s, ctx) => {
    const p = prefixProblem(s);
    if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
  });

/** Address/length as Kubernetes accepts it in ipBlock (host bits allowed: 10.0.0.1/24). */
export const looseCidr = z
  .string({ error: 'must be a CIDR string' })
  .regex(new RegExp(CIDR_PATTERN), 'must be a CIDR like 192.0.2.0/24')
  .refine((s) => cidrRange(s) !== undefined, 'must be a CIDR like 192.0.2.0/24 (address/length)');

/** The family's address bits (32, 128) and the length of "addr/len", or undefined. */
export function cidrRange(s: string): { bits: number; length: number } | undefined {
  const c = parseCidr(s);
  return c === undefined ? undefined : { bits: c.bytes.length * 8, length: c.length };
}

/** True when `inner` is inside `outer` (same family, longer or equal prefix). */
export { cidrContains };

/** A standard (ASN:VALUE) or large (GLOBAL:LOCAL1:LOCAL2) community, as Calico writes them. */
export const communityValue = z
  .string({ error: 'must be a community string' })
  .regex(/^[0-9]+:[0-9]+(:[0-9]+)?$/, 'must be a community AA:NN or a large community AA:NN:MM')
  .refine(
    (s) => parseCommunity(s) !== undefined || parseLargeCommunity(s) !== undefined,
    'must be a community AA:NN (each 0..65535) or a large community AA:NN:MM (each 0..4294967295)',
  );

export const labelKey = z.string().superRefine((k, ctx) => {
  const p = labelKeyProblem(k);
  if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
});

/** Kubernetes labels: qualified-name keys, values ≤ 63 characters. */
export const labels = z
  .record(z.string(), z.string({ error: 'label values must be strings' }))
  .superRefine((m, ctx) => {
    for (const [k, v] of Object.entries(m)) {
      const p = labelKeyProblem(k) ?? labelValueProblem(v);
      if (p !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: p });
    }
  });

export const annotations = z.record(z.string(), z.string({ error: 'annotation values must be strings' }));

const labelSelectorRequirement = z
  .strictObject({
    key: labelKey.describe('The label key the requirement applies to.'),
    operator: z.enum(SELECTOR_OPERATORS, { error: `must be one of ${SELECTOR_OPERATORS.join(', ')}` }),
    values: z
      .array(z.string())
      .optional()
      .describe('Non-empty for In and NotIn, empty for Exists and DoesNotExist.'),
  })
  .superRefine((r, ctx) => {
    const n = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0)
      ctx.addIssue({ code: 'custom', path: ['values'], message: `must be non-empty for ${r.operator}` });
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0)
      ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty for ${r.operator}` });
    r.values?.forEach((v, i) => {
      const p = labelValueProblem(v);
      if (p !== undefined) ctx.addIssue({ code: 'custom', path: ['values', i], message: p });
    });
  });

/** metav1.LabelSelector. */
export const labelSelector = z.strictObject({
  matchLabels: labels.optional().describe('Labels that must all be present with these values.'),
  matchExpressions: z
    .array(labelSelectorRequirement)
    .optional()
    .describe('Requirements (In, NotIn, Exists, DoesNotExist), all ANDed.'),
});

/** A Calico selector expression, checked by the parser (message: position and expectation). */
export const selectorExpression = z.string().superRefine((s, ctx) => {
  try {
    const expr = parseSelector(s);
    for (const key of selectorKeys(expr)) {
      const p = labelKeyProblem(key);
      if (p !== undefined) ctx.addIssue({ code: 'custom', message: `selector ${JSON.stringify(s)}: ${p}` });
    }
  } catch (err) {
    if (!(err instanceof SelectorParseError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});

/**
 * A node or peer selector: a Calico expression string (`rack == 'r1'`) or a Kubernetes label
 * selector object. Structural CRD schemas cannot say "string or object", so the CRD keeps the
 * field as written (`x-kubernetes-preserve-unknown-fields`) and the daemon validates it.
 */
export function selectorField(description: string) {
  return z
    .union([selectorExpression, labelSelector])
    .meta({ description, 'x-kubernetes-preserve-unknown-fields': true });
}
