// `margay speaker --config FILE`: the YAML of the standalone speaker (peers and static
// announcements, no dataplane). Field names are fixed so that others can script them; unknown
// fields are errors, so a typo such as `holdtime` is reported instead of silently ignored.
import { isIP } from 'node:net';
import { z } from 'zod';
import type { LocalRoute, PeerConfig, SpeakerOptions } from '../../bgp/speaker/types.ts';
import { MargayError } from '../errors.ts';
import {
  asn,
  community,
  extendedCommunity,
  family,
  formatIssues,
  ipAddress,
  ipv4,
  largeCommunity,
  listenAddress,
  port,
  prefix,
} from './fields.ts';
import { readYamlFile } from './yaml-file.ts';

const holdTime = z
  .number()
  .int()
  .refine((n) => n === 0 || (n >= 3 && n <= 65535), 'must be 0 or 3..65535 seconds (RFC 4271 §4.2)');

const peerSchema = z
  .strictObject({
    address: ipAddress,
    asn,
    port: port.optional(),
    passive: z.boolean().default(false),
    holdTime: holdTime.default(90),
    keepalive: z.number().int().min(0).max(21845).optional(),
    localAddress: ipAddress.optional(),
    families: z.array(family).min(1, 'must name at least one family').optional(),
    routeReflectorClient: z.boolean().default(false),
    nextHopSelf: z.boolean().default(false),
    description: z.string().max(200).optional(),
    allowAsIn: z.number().int().min(0).max(10).optional(),
    maxPrefix: z.number().int().min(1).optional(),
    connectRetry: z.number().int().min(1).max(65535).optional(),
    // 'local': only the routes this speaker announces go to the peer (PeerConfig.exportPolicy).
    exportPolicy: z.enum(['all', 'local']).optional(),
    // Our next hop per family when it is not the session's local address, e.g. an IPv6 address
    // for IPv6 routes over an IPv4 session (PeerConfig.nextHop).
    nextHop: z
      .strictObject({
        ipv4: ipv4.optional(),
        ipv6: ipAddress.refine((s) => isIP(s) === 6, 'must be an IPv6 address').optional(),
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    if (p.keepalive !== undefined && p.holdTime !== 0 && p.keepalive * 3 > p.holdTime) {
      ctx.addIssue({ code: 'custom', path: ['keepalive'], message: 'must be at most holdTime / 3' });
    }
  });

const announceSchema = z.strictObject({
  prefix,
  nextHop: z.union([z.literal('self'), ipAddress]).default('self'),
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
    routerId: ipv4,
    clusterId: ipv4.optional(),
    listen: z
      .strictObject({ address: ipAddress.default('::'), port: port.default(179) })
      .nullable()
      .default({ address: '::', port: 179 }),
    api: z
      .strictObject({
        listen: listenAddress.default({ host: '127.0.0.1', port: 9179 }),
        token: z.string().min(16).optional(),
      })
      .default({ listen: { host: '127.0.0.1', port: 9179 } }),
    maxPaths: z.number().int().min(1).max(64).default(1),
    gracefulRestartTime: z.number().int().min(0).max(4095).default(120),
    peers: z.array(peerSchema).default([]),
    announce: z.array(announceSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.peers.forEach((p, i) => {
      const prev = seen.get(p.address);
      if (prev !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['peers', i, 'address'], message: `duplicates peers[${prev}]` });
      }
      seen.set(p.address, i);
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
  return {
    speaker: {
      asn: c.asn,
      routerId: c.routerId,
      clusterId: c.clusterId,
      listen: c.listen,
      maxPaths: c.maxPaths,
      gracefulRestartTime: c.gracefulRestartTime,
    },
    peers: c.peers,
    announce: c.announce.map((a) => ({
      ...a,
      origin: a.origin === undefined ? undefined : ORIGIN_CODE[a.origin],
    })),
    api: { host: c.api.listen.host, port: c.api.listen.port, token: c.api.token },
  };
}

export async function loadSpeakerConfig(path: string): Promise<SpeakerConfig> {
  return parseSpeakerConfig(await readYamlFile(path), path);
}
