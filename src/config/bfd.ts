// The `bfd` field of a BGP peer: BFD (RFC 5880 asynchronous mode, RFC 5881 single hop) with the
// peer, enabled by the field's presence, in milliseconds as BIRD's `min rx interval` /
// `min tx interval` / `multiplier` and FRR's `receive-interval` / `transmit-interval` /
// `detect-multiplier`:
//
//   bfd: { minRxMs: 300, minTxMs: 300, multiplier: 3 }
//   bfd: {}                                              # the defaults above
import { z } from 'zod';
import { BFD_INTERVAL_MAX_MS, BFD_INTERVAL_MIN_MS } from '../../bgp/index.ts';

const RANGE = `must be ${BFD_INTERVAL_MIN_MS}..${BFD_INTERVAL_MAX_MS} ms`;

const interval = z
  .number({ error: 'must be a number of milliseconds' })
  .int('must be an integer')
  .min(BFD_INTERVAL_MIN_MS, RANGE)
  .max(BFD_INTERVAL_MAX_MS, RANGE);

export const bfdField = z.strictObject({
  minRxMs: interval
    .optional()
    .describe('Required Min RX Interval, ms: the fastest rate we accept its packets at (default 300).'),
  minTxMs: interval
    .optional()
    .describe('Desired Min TX Interval, ms: the rate we want to send at (default 300).'),
  multiplier: z
    .number()
    .int('must be an integer')
    .min(1, 'must be 1..255')
    .max(255, 'must be 1..255')
    .optional()
    .describe('Detect Mult: packets missed before the session is declared down (default 3).'),
});

export const BFD_DESCRIPTION =
  'BFD with the peer (RFC 5880 asynchronous mode, RFC 5881 single hop), enabled by presence ({} ' +
  'takes the defaults). When a BFD session that was Up goes down, the BGP session goes down at once ' +
  'instead of at the end of the hold time.';
