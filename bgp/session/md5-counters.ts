// Telling a TCP-MD5 mismatch from a peer that is merely down. The kernel drops the segments of a
// mismatched session silently, so the session looks like an unreachable peer; what shows the
// mismatch are the network namespace's TcpExt counters in /proc/net/netstat:
//   TCPMD5NotFound    a segment without a signature arrived where a key is configured (the
//                     peer has no password, we have one);
//   TCPMD5Unexpected  a signed segment arrived where no key is configured (the peer has one,
//                     we have none);
//   TCPMD5Failure     the signature is wrong (the passwords differ).
// The counters are per namespace, not per peer: a peer that is not Established is suspected
// when a counter that fits its configuration rose since it was configured or was last
// Established.
import { readFileSync } from 'node:fs';

export interface Md5Counters {
  readonly failure: number;
  readonly notFound: number;
  readonly unexpected: number;
}

export const MD5_MISMATCH_SUSPECTED = 'TCP-MD5 mismatch suspected';

/**
 * The three counters from the text of /proc/net/netstat (a header line of names and a line of
 * values per group), or undefined when the TcpExt group or a counter is missing.
 */
export function parseMd5Counters(netstat: string): Md5Counters | undefined {
  const lines = netstat.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = lines[i]?.split(/\s+/) ?? [];
    const values = lines[i + 1]?.split(/\s+/) ?? [];
    if (names[0] !== 'TcpExt:' || values[0] !== 'TcpExt:') continue;
    const value = (name: string): number | undefined => {
      const at = names.indexOf(name);
      const n = at < 0 ? Number.NaN : Number(values[at]);
      return Number.isFinite(n) ? n : undefined;
    };
    const failure = value('TCPMD5Failure');
    const notFound = value('TCPMD5NotFound');
    const unexpected = value('TCPMD5Unexpected');
    if (failure === undefined || notFound === undefined || unexpected === undefined) return undefined;
    return { failure, notFound, unexpected };
  }
  return undefined;
}

/** The counters of this process's network namespace, or undefined when they cannot be read. */
export function readMd5Counters(path = '/proc/net/netstat'): Md5Counters | undefined {
  try {
    return parseMd5Counters(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Whether counters that fit a peer's configuration rose from `since` to `now`: with a password
 * configured, segments that were unsigned or wrongly signed; without one, signed segments.
 */
export function md5MismatchSuspected(hasPassword: boolean, since: Md5Counters, now: Md5Counters): boolean {
  if (hasPassword) return now.failure > since.failure || now.notFound > since.notFound;
  return now.unexpected > since.unexpected;
}
