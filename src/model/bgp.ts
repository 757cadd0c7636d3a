// BGPConfiguration and BGPPeer (margay.io/v1, cluster-scoped), shaped after Calico's
// projectcalico.org/v3 resources so a Calico user recognises every field.
//
// - BGPConfiguration `default` is the cluster-wide one (Calico's rule); other names are rejected
//   rather than ignored. Per-node settings are node annotations (node.ts) or node-selector lists
//   here (`nodeASNumbers`, `routeReflectorClusterIDs`), so a per-rack AS needs no per-node edits.
// - BGPPeer: `peerIP` + `asNumber` names one router; `peerSelector` instead selects Margay nodes
//   (route-reflector topologies). `node` / `nodeSelector` choose which of our nodes peer; neither
//   means every node (a "global" peer).
// - Times (holdTime, keepaliveTime, maxRestartTime, nodeMeshMaxRestartTime, longLivedStaleTime)
//   are Go durations as Calico writes them ("120s", "2m", "1h30m") or whole seconds, both in whole
//   seconds to the speaker (duration.ts). Route filters are not supported, so there are no fields
//   for them. `ttlSecurity` is Calico's, and so are the TCP-MD5 passwords: BGPPeer
//   `password` and BGPConfiguration `nodeMeshPassword` (the mesh's), each a `secretKeyRef` to a
//   Secret in the agent's namespace (secret.ts). `bfd` (BFD with the peer) is Margay's own, the
//   same field as the speaker YAML's.
import { z } from 'zod';
import {
  holdTimeProblem,
  KEEPALIVE_TIME_MAX,
  keepaliveTimeProblem,
  parseCommunity,
  parseLargeCommunity,
} from '../../bgp/index.ts';
import { ipFamily } from '../../felix/index.ts';
import { canonicalAddress, isUnspecified, unusableAddress } from '../config/address.ts';
import { BFD_DESCRIPTION, bfdField } from '../config/bfd.ts';
import { MAX_PREFIX_DESCRIPTION, maxPrefixField } from '../config/max-prefix.ts';
import { secondsField } from './duration.ts';
import {
  asNumber,
  cidr,
  communityValue,
  holdTime,
  ipv4Address,
  keepaliveTime,
  objectName,
  port,
  selectorField,
} from './fields.ts';
import { clusterMeta, MARGAY_API_VERSION } from './meta.ts';
import { PASSWORD_DESCRIPTION, secretKeyRefField } from './secret.ts';

export const LOG_SEVERITIES = ['Debug', 'Info', 'Warning', 'Error'] as const;
export const NEXT_HOP_MODES = ['Auto', 'Self', 'Keep'] as const;

export const DEFAULT_AS_NUMBER = 64512;
export const DEFAULT_BGP_CONFIGURATION_NAME = 'default';

/**
 * The timer rule of bgp/fsm/hold-time.ts (RFC 4271 §4.2, §4.4, §10): keepalive time 0 exactly
 * when the hold time is 0, otherwise 1..holdTime / 3. A BGPPeer without holdTime inherits
 * BGPConfiguration's, which this object does not know: its keepaliveTime 0 needs its own
 * holdTime 0, and any other keepaliveTime is checked against the inherited hold time by the
 * calculation (src/calc/peers.ts), which leaves such a BGPPeer out with a problem.
 */
function keepaliveWithinHold(
  s: { holdTime?: number | undefined; keepaliveTime?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  const { holdTime, keepaliveTime } = s;
  // A field that breaks its own bounds is reported by that field alone.
  if (keepaliveTime === undefined || !Number.isInteger(keepaliveTime) || keepaliveTime < 0) return;
  if (keepaliveTime > KEEPALIVE_TIME_MAX) return;
  if (holdTime !== undefined && holdTimeProblem(holdTime) !== undefined) return;
  const problem =
    holdTime !== undefined
      ? keepaliveTimeProblem(keepaliveTime, holdTime)
      : keepaliveTime === 0
        ? '0 requires holdTime 0, set in this object too (an inherited holdTime may change)'
        : undefined;
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['keepaliveTime'], message: problem });
}

// RFC 4724: the Restart Time field of the Graceful Restart capability is 12 bits of seconds.
const restartTime = secondsField({
  max: 4095,
  range: 'must be 0..4095 seconds (RFC 4724: the restart time is a 12-bit count of seconds)',
});

// RFC 9494: the Long-lived Stale Time of the LLGR capability is 24 bits of seconds.
const longLivedStaleTime = secondsField({
  max: 0xffffff,
  range: 'must be 0..16777215 seconds (RFC 9494: the stale time is a 24-bit count of seconds)',
});

const LONG_LIVED_STALE_TIME_DESCRIPTION =
  'Long-lived graceful restart (RFC 9494) stale time (0..16777215 s; a duration such as "1h" or whole seconds) this node advertises: ' +
  "after the restart time, a peer that also does LLGR keeps this node's routes for this long more, " +
  'marked LLGR_STALE and least preferred; this node does the same for the peer. 0 or absent: no LLGR.';

const RESTART_TIME_DESCRIPTION =
  'Graceful restart time (0..4095 s, RFC 4724; a duration such as "120s" or "2m", or whole seconds) this node ' +
  "advertises: how long the peer keeps this node's routes while its agent restarts. Default 120 s.";

const communityName = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]*$/, 'must start with a letter; letters, digits, "_" and "-"');

export const bgpConfigurationSpecSchema = z
  .strictObject({
    asNumber: asNumber
      .default(DEFAULT_AS_NUMBER)
      .describe('The AS number of every node that has no per-node AS (annotation or nodeASNumbers).'),
    nodeToNodeMeshEnabled: z
      .boolean()
      .default(true)
      .describe('Full iBGP mesh between all nodes. Turn off when route reflectors carry the routes.'),
    listenPort: port.default(179).describe('TCP port the BGP speaker listens on.'),
    // The daemon applies the default: zod leaves a transformed field's default out of the CRD.
    holdTime: holdTime
      .default(90)
      .describe(
        'Hold time offered to peers: 0 or 3..65535 s, a duration such as "90s" or whole seconds; default 90 s. ' +
          'A BGPPeer may override it.',
      ),
    keepaliveTime: keepaliveTime
      .optional()
      .describe(
        'Keepalive interval (a duration such as "30s" or whole seconds): 0 with holdTime 0, else 1..holdTime / 3 s; ' +
          'default holdTime / 3. ' +
          'A BGPPeer whose own holdTime it does not fit uses that holdTime / 3 instead.',
      ),
    logSeverity: z.enum(LOG_SEVERITIES).default('Info').describe('Log level of the BGP speaker.'),
    communities: z
      .array(
        z.strictObject({
          name: communityName.describe('The name prefixAdvertisements refer to.'),
          value: communityValue.describe('AA:NN (standard) or AA:NN:MM (large community).'),
        }),
      )
      .default([])
      .describe('Named communities, for use in prefixAdvertisements.'),
    prefixAdvertisements: z
      .array(
        z.strictObject({
          cidr: cidr.describe('Announced prefixes inside this CIDR get the communities.'),
          communities: z
            .array(z.string())
            .min(1, 'must name at least one community')
            .describe('Community names from `communities`, or literal values AA:NN / AA:NN:MM.'),
        }),
      )
      .default([])
      .describe('Communities attached to announced prefixes inside a CIDR.'),
    nodeASNumbers: z
      .array(
        z.strictObject({
          nodeSelector: selectorField('The nodes this AS number applies to.'),
          asNumber: asNumber.describe('Their AS number.'),
        }),
      )
      .default([])
      .describe(
        'Per-selector node AS numbers, e.g. one AS per rack. The first matching entry wins; the ' +
          'node annotation margay.io/as-number overrides it.',
      ),
    routeReflectorClusterIDs: z
      .array(
        z.strictObject({
          nodeSelector: selectorField('The nodes that are route reflectors with this cluster ID.'),
          clusterID: ipv4Address.describe('Route reflector cluster ID (RFC 4456), in IPv4 form.'),
        }),
      )
      .default([])
      .describe(
        'Route reflectors by node selector. The first matching entry wins; the node annotation ' +
          'margay.io/route-reflector-cluster-id overrides it.',
      ),
    serviceClusterIPs: z
      .array(z.strictObject({ cidr: cidr.describe('A Service cluster IP range.') }))
      .default([])
      .describe('Service cluster IP ranges every node announces.'),
    serviceExternalIPs: z
      .array(z.strictObject({ cidr: cidr.describe('A Service external IP range.') }))
      .default([])
      .describe('Service external IP ranges every node announces.'),
    nodeMeshMaxRestartTime: restartTime
      .optional()
      .describe(`The node-to-node mesh sessions' restart time. ${RESTART_TIME_DESCRIPTION}`),
    nodeMeshPassword: secretKeyRefField
      .optional()
      .describe(`The node-to-node mesh sessions' password. ${PASSWORD_DESCRIPTION}`),
  })
  .superRefine((s, ctx) => {
    keepaliveWithinHold(s, ctx);
    const names = new Map<string, number>();
    s.communities.forEach((c, i) => {
      const prev = names.get(c.name);
      if (prev !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['communities', i, 'name'],
          message: `duplicates communities[${prev}]`,
        });
      names.set(c.name, i);
    });
    s.prefixAdvertisements.forEach((p, i) => {
      p.communities.forEach((c, j) => {
        if (names.has(c)) return;
        if (parseCommunity(c) !== undefined || parseLargeCommunity(c) !== undefined) return;
        ctx.addIssue({
          code: 'custom',
          path: ['prefixAdvertisements', i, 'communities', j],
          message: `"${c}" is neither a name in communities nor a community value AA:NN / AA:NN:MM`,
        });
      });
    });
  });

export const bgpConfigurationSchema = z
  .strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('BGPConfiguration'),
    metadata: clusterMeta,
    spec: bgpConfigurationSpecSchema.default(bgpConfigurationSpecSchema.parse({})),
  })
  .describe('Cluster-wide BGP settings. Only the object named "default" exists.')
  .superRefine((r, ctx) => {
    if (r.metadata.name !== DEFAULT_BGP_CONFIGURATION_NAME)
      ctx.addIssue({
        code: 'custom',
        path: ['metadata', 'name'],
        message:
          'must be "default": it is the only BGPConfiguration; per-node settings are node ' +
          'annotations or the nodeASNumbers / routeReflectorClusterIDs selectors',
      });
  });

export type BGPConfigurationSpec = z.output<typeof bgpConfigurationSpecSchema>;
export type BGPConfiguration = z.output<typeof bgpConfigurationSchema>;

/** The settings in force when no BGPConfiguration `default` exists. */
export const DEFAULT_BGP_CONFIGURATION_SPEC: BGPConfigurationSpec = deepFreeze(
  bgpConfigurationSpecSchema.parse({}),
);

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** peerIP: an address, optionally with a port: 192.0.2.1, 192.0.2.1:1179, [2001:db8::1]:1179. */
export function parsePeerIP(text: string): { address: string; port?: number } | undefined {
  if (ipFamily(text) !== undefined) return { address: text };
  const m = /^(?:\[([^\]]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  if (m === null) return undefined;
  const address = m[1] ?? m[2] ?? '';
  const p = Number(m[3]);
  if (
    ipFamily(address) === undefined ||
    (m[1] !== undefined && ipFamily(address) !== 6) ||
    p < 1 ||
    p > 65535
  )
    return undefined;
  return { address, port: p };
}

// An IPv4-mapped peerIP is refused, not translated: the calculation would pair it with the
// node's IPv6 address while the speaker connects to the IPv4 address it maps, and two BGPPeers
// (::ffff:192.0.2.2 and 192.0.2.2) would be one peer to the speaker but two to the calculation.
const peerIP = z
  .string()
  .refine(
    (s) => parsePeerIP(s) !== undefined,
    'must be an address with an optional port: 192.0.2.1, 192.0.2.1:1179 or [2001:db8::1]:1179',
  )
  .superRefine((s, ctx) => {
    const parsed = parsePeerIP(s);
    if (parsed === undefined) return;
    const problem = unusableAddress(parsed.address);
    const a = canonicalAddress(parsed.address);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    else if (a?.mapped)
      ctx.addIssue({
        code: 'custom',
        message: `${parsed.address} is an IPv4-mapped IPv6 address: write ${a.address}`,
      });
  });

const sourceAddress = z
  .string()
  .refine(
    (s) => s === 'UseNodeIP' || s === 'None' || ipFamily(s) !== undefined,
    'must be UseNodeIP, None or an IP address',
  )
  .superRefine((s, ctx) => {
    if (ipFamily(s) === undefined) return;
    const problem = unusableAddress(s);
    if (problem !== undefined)
      ctx.addIssue({
        code: 'custom',
        message: isUnspecified(s) ? `${problem} (None lets the kernel choose)` : problem,
      });
  });

export const bgpPeerSpecSchema = z
  .strictObject({
    peerIP: peerIP
      .optional()
      .describe('The peer address, optionally with a port (192.0.2.1:1179, [2001:db8::1]:1179).'),
    asNumber: asNumber.optional().describe('The peer AS number; required with peerIP.'),
    peerSelector: selectorField(
      'Instead of peerIP: peer with the Margay nodes this selects (e.g. route reflectors), at their node address and AS.',
    ).optional(),
    node: objectName.optional().describe('Only this node peers (a node-specific peer).'),
    nodeSelector: selectorField(
      'Only the nodes this selects peer. Neither node nor nodeSelector: every node.',
    ).optional(),
    sourceAddress: sourceAddress
      .default('UseNodeIP')
      .describe(
        'Source address of the session: UseNodeIP (the node address), None (kernel choice) or an IP.',
      ),
    holdTime: holdTime
      .optional()
      .describe('Hold time (a duration such as "90s" or whole seconds); default BGPConfiguration holdTime.'),
    keepaliveTime: keepaliveTime
      .optional()
      .describe(
        'Keepalive interval sent to and expected from this peer (a duration such as "10s" or whole seconds, ' +
          'rounded to whole seconds): 0 with holdTime 0, else 1..holdTime / 3 s (the holdTime in force, ' +
          "this object's or BGPConfiguration's); default BGPConfiguration keepaliveTime when it fits, else holdTime / 3.",
      ),
    nextHopMode: z
      .enum(NEXT_HOP_MODES)
      .default('Auto')
      .describe(
        'Next hop of routes sent to this peer: Auto (BGP rules), Self (always us), Keep (unchanged).',
      ),
    routeReflectorClient: z
      .boolean()
      .default(false)
      .describe('The peer is a route reflector client of ours (we reflect iBGP routes to it).'),
    // Integer or object: no structural CRD schema says that, so the CRD keeps the field as
    // written and the daemon validates it (as for selectors).
    maxPrefix: maxPrefixField
      .meta({
        description: MAX_PREFIX_DESCRIPTION,
        'x-kubernetes-preserve-unknown-fields': true,
      })
      .optional(),
    ttlSecurity: z
      .number()
      .int()
      .min(1)
      .max(254)
      .optional()
      .describe(
        'RFC 5082 TTL security: the peer is at most this many hops away (1..254); we send TTL 255 and ' +
          'drop its segments that arrive with a TTL below 256 - ttlSecurity.',
      ),
    bfd: bfdField.optional().describe(BFD_DESCRIPTION),
    maxRestartTime: restartTime.optional().describe(RESTART_TIME_DESCRIPTION),
    longLivedStaleTime: longLivedStaleTime.optional().describe(LONG_LIVED_STALE_TIME_DESCRIPTION),
    password: secretKeyRefField.optional().describe(PASSWORD_DESCRIPTION),
  })
  .superRefine((s, ctx) => {
    keepaliveWithinHold(s, ctx);
    if (s.peerIP === undefined && s.peerSelector === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['peerIP'],
        message: 'one of peerIP or peerSelector is required',
      });
    if (s.peerIP !== undefined && s.peerSelector !== undefined)
      ctx.addIssue({ code: 'custom', path: ['peerSelector'], message: 'must be absent when peerIP is set' });
    if (s.peerIP !== undefined && s.asNumber === undefined)
      ctx.addIssue({ code: 'custom', path: ['asNumber'], message: 'is required with peerIP' });
    if (s.peerIP === undefined && s.peerSelector !== undefined && s.asNumber !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['asNumber'],
        message: "must be absent with peerSelector (the selected nodes' own AS numbers are used)",
      });
    if (s.node !== undefined && s.nodeSelector !== undefined)
      ctx.addIssue({ code: 'custom', path: ['nodeSelector'], message: 'must be absent when node is set' });
  });

export const bgpPeerSchema = z
  .strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('BGPPeer'),
    metadata: clusterMeta,
    spec: bgpPeerSpecSchema,
  })
  .describe('A BGP peering: a router (peerIP) or other Margay nodes (peerSelector), for all or some nodes.');

export type BGPPeerSpec = z.output<typeof bgpPeerSpecSchema>;
export type BGPPeer = z.output<typeof bgpPeerSchema>;
