// `margay speaker --config FILE`: the YAML of the standalone speaker (peers and static
// announcements, no dataplane). Field names are fixed so that others can script them; unknown
// fields are errors, so a typo such as `holdtime` is reported instead of silently ignored.
//
// Whatever this file accepts, the speaker accepts: an address that no TCP session can use (the
// unspecified, a multicast or the broadcast address), one of the speaker's own addresses as a
// peer, two spellings of one peer or one announced prefix, and timer pairs the session rejects
// are errors here, naming the field, instead of a failure when the speaker starts. The peers
// handed on carry canonical addresses (address.ts), and they pass the speaker's own peer checks
// before this function returns.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { LocalRoute, PeerConfig, SpeakerOptions } from '../../bgp/index.ts';
import {
  ADD_PATHS,
  HOLD_TIME_RULE,
  holdTimeProblem,
  KEEPALIVE_TIME_MAX,
  keepaliveTimeProblem,
  resolvePeers,
} from '../../bgp/index.ts';
import { canonicalCidr, ipFamily } from '../../felix/index.ts';
import { MargayError } from '../errors.ts';
import { canonicalAddress, isUnspecified } from './address.ts';
import { bfdField } from './bfd.ts';
import {
  apiSchema,
  asn,
  community,
  extendedCommunity,
  family,
  formatIssues,
  hostAddress,
  ipAddress,
  ipv4,
  largeCommunity,
  listenIp,
  port,
  prefix,
} from './fields.ts';
import { maxPrefixField } from './max-prefix.ts';
import { readYamlFile } from './yaml-file.ts';

// Seconds in 0..max, the width of the capability field that carries them.
const secondsUpTo = (max: number, rfc: string) =>
  z
    .number({ error: 'must be a number of seconds' })
    .int('must be an integer')
    .min(0, `must be 0..${max} seconds (${rfc})`)
    .max(max, `must be 0..${max} seconds (${rfc})`);

// RFC 4724 restart time and RFC 9494 long-lived stale time, both as this speaker advertises them.
const gracefulRestartField = z.strictObject({
  restartTime: secondsUpTo(4095, 'RFC 4724').optional(),
  longLivedStaleTime: secondsUpTo(16777215, 'RFC 9494').optional(),
});

// The timer rule of bgp/fsm/hold-time.ts, the one the speaker and the margay.io resources use.
const holdTime = z
  .number({ error: 'must be a number of seconds' })
  .int('must be an integer')
  .refine((n) => holdTimeProblem(n) === undefined, HOLD_TIME_RULE);

const peerSchema = z
  .strictObject({
    address: hostAddress,
    asn,
    port: port.optional(),
    passive: z.boolean().default(false),
    holdTime: holdTime.default(90),
    keepaliveTime: z
      .number({ error: 'must be a number of seconds' })
      .int('must be an integer')
      .min(0, `must be 0..${KEEPALIVE_TIME_MAX} seconds`)
      .max(KEEPALIVE_TIME_MAX, `must be 0..${KEEPALIVE_TIME_MAX} seconds`)
      .optional(),
    localAddress: hostAddress.optional(),
    families: z.array(family).min(1, 'must name at least one family').optional(),
    routeReflectorClient: z.boolean().default(false),
    nextHopSelf: z.boolean().default(false),
    description: z.string().max(200).optional(),
    allowAsIn: z.number().int().min(0).max(10).optional(),
    // A number or limits per family (max-prefix.ts).
    maxPrefix: maxPrefixField.optional(),
    connectRetryTime: z.number().int().min(1).max(65535).optional(),
    // RFC 2385 TCP-MD5 key (PeerConfig.password), or a file holding it, read at load.
    password: z
      .string()
      .refine((s) => passwordProblem(s) === undefined, { error: (i) => passwordProblem(String(i.input)) })
      .optional(),
    passwordFile: z.string().min(1, 'must be a file path').optional(),
    // RFC 5082 TTL security: the peer is at most this many hops away (PeerConfig.ttlSecurity).
    ttlSecurity: z
      .number()
      .int('must be an integer')
      .min(1, 'must be 1..254')
      .max(254, 'must be 1..254')
      .optional(),
    // BFD with the peer, enabled by presence (bfd.ts, PeerConfig.bfd).
    bfd: bfdField.optional(),
    // Graceful restart times this session advertises (PeerConfig.gracefulRestart).
    gracefulRestart: gracefulRestartField.optional(),
    // eBGP multihop: the TTL of our segments (PeerConfig.multihop).
    multihop: z
      .number()
      .int('must be an integer')
      .min(1, 'must be 1..255')
      .max(255, 'must be 1..255')
      .optional(),
    // 'local': only the routes this speaker announces go to the peer (PeerConfig.exportPolicy).
    exportPolicy: z.enum(['all', 'local']).optional(),
    // RFC 7911 ADD-PATH on the session's families (PeerConfig.addPaths); BIRD's `add paths tx`
    // is 'send', `rx` 'receive', `on` 'both'.
    addPaths: z
      .enum(ADD_PATHS as ['send', 'receive', 'both'], {
        error: (i) => `${JSON.stringify(i.input)} is not one of ${ADD_PATHS.join(', ')}`,
      })
      .optional(),
    // Our next hop per family when it is not the session's local address, e.g. an IPv6 address
    // for IPv6 routes over an IPv4 session (PeerConfig.nextHop).
    nextHop: z
      .strictObject({
        ipv4: ipv4.pipe(hostAddress).optional(),
        ipv6: ipAddress
          .refine((s) => ipFamily(s) === 6, 'must be an IPv6 address')
          .pipe(hostAddress)
          .optional(),
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    // The keepalive against the hold time (absent: a third of it), once both fields are valid.
    const k = p.keepaliveTime;
    if (
      k !== undefined &&
      Number.isInteger(k) &&
      k >= 0 &&
      k <= KEEPALIVE_TIME_MAX &&
      holdTimeProblem(p.holdTime) === undefined
    ) {
      const problem = keepaliveTimeProblem(k, p.holdTime);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['keepaliveTime'], message: problem });
    }
    if (p.password !== undefined && p.passwordFile !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['passwordFile'],
        message: 'password and passwordFile are exclusive',
      });
    // As FRR: TTL security fixes the TTL at 255, which multihop would set otherwise.
    if (p.ttlSecurity !== undefined && p.multihop !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['ttlSecurity'],
        message: 'ttlSecurity and multihop are exclusive',
      });
    const peer = canonicalAddress(p.address);
    const local = p.localAddress === undefined ? undefined : canonicalAddress(p.localAddress);
    if (peer !== undefined && local !== undefined && local.family !== peer.family)
      ctx.addIssue({
        code: 'custom',
        path: ['localAddress'],
        message: `must be an IPv${peer.family} address like the peer address`,
      });
  });

const announceSchema = z.strictObject({
  prefix,
  nextHop: z.union([z.literal('self'), hostAddress]).default('self'),
  communities: z.array(community).optional(),
  largeCommunities: z.array(largeCommunity).optional(),
  extendedCommunities: z.array(extendedCommunity).optional(),
  med: z.number().int().min(0).max(4294967295).optional(),
  localPref: z.number().int().min(0).max(4294967295).optional(),
  origin: z.enum(['igp', 'egp', 'incomplete']).optional(),
});

export const speakerConfigSchema = z
  .strictObject({
    asn,
    // RFC 6286 §2.1: the BGP Identifier is a non-zero 32-bit number.
    routerId: ipv4.refine(
      (s) => !isUnspecified(s),
      '0.0.0.0 is not a BGP identifier: it must be non-zero (RFC 6286 §2.1)',
    ),
    clusterId: ipv4.optional(),
    listen: z
      .strictObject({
        address: listenIp.default('::'),
        port: port.default(179),
      })
      .nullable()
      .default({ address: '::', port: 179 }),
    api: apiSchema(9179),
    maxPaths: z.number().int().min(1).max(64).default(1),
    gracefulRestartTime: z.number().int().min(0).max(4095).default(120),
    peers: z.array(peerSchema).default([]),
    announce: z.array(announceSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    // The speaker's own addresses: the one it listens on (unless it listens on all) and every
    // address it connects from. A peer there would be a session with itself.
    const own = new Map<string, string>();
    if (cfg.listen !== null && !isUnspecified(cfg.listen.address)) {
      const a = canonicalAddress(cfg.listen.address);
      if (a !== undefined) own.set(a.address, 'listen.address');
    }
    cfg.peers.forEach((p, i) => {
      const a = p.localAddress === undefined ? undefined : canonicalAddress(p.localAddress);
      if (a !== undefined && !own.has(a.address)) own.set(a.address, `peers[${i}].localAddress`);
    });
    // One peer per address, as the speaker keys its peers by the canonical address.
    const seen = new Map<string, number>();
    cfg.peers.forEach((p, i) => {
      const a = canonicalAddress(p.address);
      if (a === undefined) return;
      const path = ['peers', i, 'address'];
      const mine = own.get(a.address);
      if (mine !== undefined)
        ctx.addIssue({
          code: 'custom',
          path,
          message: `${a.address} is this speaker's own address (${mine})`,
        });
      const prev = seen.get(a.address);
      if (prev === undefined) {
        seen.set(a.address, i);
        return;
      }
      const first = cfg.peers[prev]?.address ?? '';
      const written =
        first === a.address && p.address === a.address ? '' : ` (written "${first}" and "${p.address}")`;
      ctx.addIssue({
        code: 'custom',
        path,
        message: `${a.address} duplicates peers[${prev}].address${written}`,
      });
    });
    // One announcement per prefix, in any spelling.
    const prefixes = new Map<string, number>();
    cfg.announce.forEach((r, i) => {
      const key = canonicalCidr(r.prefix) ?? r.prefix;
      const prev = prefixes.get(key);
      if (prev === undefined) prefixes.set(key, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['announce', i, 'prefix'],
          message: `${key} duplicates announce[${prev}].prefix`,
        });
    });
  });

export type SpeakerFileConfig = z.output<typeof speakerConfigSchema>;

export interface SpeakerConfig {
  readonly speaker: SpeakerOptions;
  readonly peers: readonly PeerConfig[];
  readonly announce: readonly LocalRoute[];
  readonly api: { readonly host: string; readonly port: number; readonly token?: string };
}

const ORIGIN_CODE = { igp: 0, egp: 1, incomplete: 2 } as const;

/** Validates a parsed YAML document; throws MargayError naming every bad field. */
export function parseSpeakerConfig(doc: unknown, source = 'config'): SpeakerConfig {
  const result = speakerConfigSchema.safeParse(doc ?? {});
  if (!result.success) {
    throw new MargayError('MARGAY_ERR_CONFIG', `${source}: ${formatIssues(result.error).join('; ')}`);
  }
  const c = result.data;
  const peers: PeerConfig[] = c.peers.map(({ passwordFile, ...p }, i) => {
    const password =
      passwordFile === undefined ? p.password : readPassword(passwordFile, `${source}: peers[${i}]`);
    return {
      ...p,
      address: canonicalAddress(p.address)?.address ?? p.address,
      ...(password !== undefined && { password }),
    };
  });
  try {
    resolvePeers(peers);
  } catch (err) {
    // A check of the speaker's that the schema above lacks: still a configuration error.
    throw new MargayError('MARGAY_ERR_CONFIG', `${source}: ${(err as Error).message}`, { cause: err });
  }
  return {
    speaker: {
      asn: c.asn,
      routerId: c.routerId,
      clusterId: c.clusterId,
      listen: c.listen,
      maxPaths: c.maxPaths,
      gracefulRestartTime: c.gracefulRestartTime,
    },
    peers,
    announce: c.announce.map((a) => ({
      ...a,
      origin: a.origin === undefined ? undefined : ORIGIN_CODE[a.origin],
    })),
    api: { host: c.api.listen.host, port: c.api.listen.port, token: c.api.token },
  };
}

/** The TCP-MD5 key rule (the kernel takes 1..80 octets), or undefined when `s` fits it. */
function passwordProblem(s: string): string | undefined {
  const octets = Buffer.byteLength(s, 'utf8');
  return octets >= 1 && octets <= 80 ? undefined : `must be 1..80 octets (is ${octets})`;
}

/**
 * The password in `path` (relative paths from the working directory), without the line end a
 * file ends with; errors name the peer, the field and the file.
 */
function readPassword(path: string, where: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new MargayError('MARGAY_ERR_CONFIG', `${where}.passwordFile: cannot read ${path}: ${reason}`, {
      cause: err,
    });
  }
  const password = text.replace(/\r?\n$/, '');
  const problem = passwordProblem(password);
  if (problem !== undefined) {
    throw new MargayError('MARGAY_ERR_CONFIG', `${where}.passwordFile: the password in ${path} ${problem}`);
  }
  return password;
}

export async function loadSpeakerConfig(path: string): Promise<SpeakerConfig> {
  return parseSpeakerConfig(await readYamlFile(path), path);
}
