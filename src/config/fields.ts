// Field schemas shared by every configuration file Margay reads (speaker, agent, lab).
// Each schema's error message names what is expected, and `formatIssues` prefixes it with the
// field's path ("peers[1].asn: …") so an operator can find the line.
import { z } from 'zod';
import { parseCommunity, parseExtendedCommunity, parseLargeCommunity } from '../../bgp/index.ts';
import { cidrProblem, ipFamily } from '../../felix/index.ts';
import { unusableAddress, unusableListenAddress } from './address.ts';

export const asn = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, 'must be 1..4294967295')
  .max(4294967295, 'must be 1..4294967295');

export const ipv4 = z.string().refine((s) => ipFamily(s) === 4, 'must be an IPv4 address like 192.0.2.1');
export const ipAddress = z
  .string()
  .refine((s) => ipFamily(s) !== undefined, 'must be an IPv4 or IPv6 address');

/** An address a TCP session can have at either end: not unspecified, multicast or broadcast. */
export const hostAddress = ipAddress.superRefine((s, ctx) => {
  const problem = unusableAddress(s);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** An address to listen on: one of this host's, or 0.0.0.0 / :: for all of them. */
export const listenIp = ipAddress.superRefine((s, ctx) => {
  const problem = unusableListenAddress(s);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

export const port = z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535');

export const family = z.enum(['ipv4-unicast', 'ipv6-unicast'], {
  error: 'must be ipv4-unicast or ipv6-unicast',
});

/** A CIDR prefix with no host bits set, e.g. 10.244.1.0/24 or 2001:db8::/48. */
export const prefix = z.string().transform((s, ctx) => {
  const why = cidrProblem(s, { hostBits: 'reject' });
  if (why !== undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid address or prefix ${JSON.stringify(s)}: ${why}` });
    return z.NEVER;
  }
  return s;
});

export const community = z.string().transform((s, ctx) => {
  const v = parseCommunity(s);
  if (v === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" is not a community (ASN:VALUE, each 0..65535, or no-export…)`,
    });
    return z.NEVER;
  }
  return v;
});

export const largeCommunity = z.string().transform((s, ctx) => {
  const v = parseLargeCommunity(s);
  if (v === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a large community (GLOBAL:LOCAL1:LOCAL2)` });
    return z.NEVER;
  }
  return v;
});

export const extendedCommunity = z.string().transform((s, ctx) => {
  const v = parseExtendedCommunity(s);
  if (v === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" is not an extended community (rt:ASN:VALUE or soo:ASN:VALUE)`,
    });
    return z.NEVER;
  }
  return v;
});

/** "host:port" with an IPv4 address, "[v6]:port" or ":port". */
export const listenAddress = z.string().transform((s, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const p = m ? Number(m[3]) : 0;
  if (!m || p < 1 || p > 65535 || (host !== '' && ipFamily(host) === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${s}" must be ADDRESS:PORT, e.g. 127.0.0.1:9179 or [::1]:9179`,
    });
    return z.NEVER;
  }
  return { host: host === '' ? '0.0.0.0' : host, port: p };
});

/** Whether a REST API bound to `host` answers only this machine (127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return ipFamily(host) === 4 && host.startsWith('127.');
}

/**
 * A daemon's `api` block. The REST API is read-only but shows the node's peers, routes and
 * policy, so beyond loopback it needs a bearer token: a listen address that is not loopback
 * without `token` is a configuration error, found before anything starts.
 */
export function apiSchema(defaultPort: number) {
  return z
    .strictObject({
      listen: listenAddress.default({ host: '127.0.0.1', port: defaultPort }),
      token: z.string().min(16).optional(),
    })
    .superRefine((api, ctx) => {
      if (!isLoopbackHost(api.listen.host) && api.token === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['token'],
          message: `required when api.listen (${api.listen.host}:${api.listen.port}) is not a loopback address: a bearer token of at least 16 characters`,
        });
      }
    })
    .default({ listen: { host: '127.0.0.1', port: defaultPort } });
}

/** Formats zod issues as "path.to[0].field: message" lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((found) => {
    // A union (e.g. maxPrefix: a number or an object) whose input matched one branch's type
    // reports that branch's first issue instead of zod's generic "Invalid input".
    let issue = found;
    while (issue.code === 'invalid_union') {
      const typed = issue.errors.filter(
        (b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      const first = typed.length === 1 ? typed[0]?.[0] : undefined;
      if (first === undefined) break;
      issue = { ...first, path: [...issue.path, ...first.path] };
    }
    let path = '';
    for (const key of issue.path) {
      if (typeof key === 'number') path += `[${key}]`;
      else path += path === '' ? String(key) : `.${String(key)}`;
    }
    return `${path || '(top level)'}: ${issue.message}`;
  });
}
