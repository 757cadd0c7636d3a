// The `maxPrefix` field of a BGP peer, shared by the speaker YAML and the BGPPeer resource:
// a number (that limit for each family, teardown, restart after 60 s) or limits per family,
// in the words of BIRD's `import limit N action warn|restart` and FRR's
// `maximum-prefix N [restart M] [warning-only]` (bgp/speaker/max-prefix.ts runs them):
//
//   maxPrefix:
//     ipv4-unicast: { limit: 1000, action: teardown, restartAfterSeconds: 60 }
//     ipv6-unicast: { limit: 500, action: warn }
import { z } from 'zod';

const LIMIT_MAX = 4294967295;
const RESTART_MAX = 65535;

const limit = z
  .number({ error: 'must be a number of prefixes' })
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(LIMIT_MAX, `must be at most ${LIMIT_MAX}`);

const familyLimit = z.strictObject({
  limit,
  action: z.enum(['teardown', 'warn'], { error: "must be 'teardown' or 'warn'" }).optional(),
  restartAfterSeconds: z
    .number({ error: 'must be a number of seconds' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(RESTART_MAX, `must be at most ${RESTART_MAX}`)
    .optional(),
});

export const maxPrefixField = z.union([
  limit,
  z.strictObject({ 'ipv4-unicast': familyLimit.optional(), 'ipv6-unicast': familyLimit.optional() }),
]);

export const MAX_PREFIX_DESCRIPTION =
  'Prefix limits per family: ipv4-unicast / ipv6-unicast, each {limit, action, restartAfterSeconds}. ' +
  'More received prefixes of a family than limit: action teardown (default) sends Cease / Maximum ' +
  'Number of Prefixes Reached and keeps the peer Idle, refusing its connections, for ' +
  'restartAfterSeconds (default 60), doubling on each repeat up to 15 minutes and starting over once ' +
  'a session lasted 5 minutes; action warn logs and counts each crossing and keeps the session. ' +
  'A plain number is that limit for each family, action teardown.';
