// bgp/session/md5-counters.ts: the TcpExt counters from /proc/net/netstat text, and which rise
// points at a peer's configuration.
import { describe, expect, it } from 'vitest';
import {
  md5MismatchSuspected,
  parseMd5Counters,
  readMd5Counters,
} from '../../../../bgp/session/md5-counters.ts';

const NETSTAT = [
  'TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPAutoCorking',
  'TcpExt: 0 3 5 7 11',
  'IpExt: InNoRoutes TCPMD5Failure',
  'IpExt: 1 99',
  '',
].join('\n');

describe('parseMd5Counters', () => {
  it('reads the three counters of the TcpExt group by name', () => {
    expect(parseMd5Counters(NETSTAT)).toEqual({ notFound: 3, unexpected: 5, failure: 7 });
  });

  it('is undefined without the group or a counter', () => {
    expect(parseMd5Counters('IpExt: InNoRoutes\nIpExt: 1\n')).toBeUndefined();
    expect(parseMd5Counters('TcpExt: TCPMD5NotFound TCPMD5Failure\nTcpExt: 1 2\n')).toBeUndefined();
    expect(
      parseMd5Counters('TcpExt: TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure\nTcpExt: 1 x 2\n'),
    ).toBeUndefined();
  });

  it('reads this kernel, which counts TCP-MD5 drops', () => {
    expect(readMd5Counters()).toEqual({
      failure: expect.any(Number),
      notFound: expect.any(Number),
      unexpected: expect.any(Number),
    });
    expect(readMd5Counters('/nonexistent/netstat')).toBeUndefined();
  });
});

describe('md5MismatchSuspected', () => {
  const zero = { failure: 0, notFound: 0, unexpected: 0 };
  it('blames a peer with a password for failures and unsigned segments', () => {
    expect(md5MismatchSuspected(true, zero, { ...zero, failure: 1 })).toBe(true);
    expect(md5MismatchSuspected(true, zero, { ...zero, notFound: 1 })).toBe(true);
    expect(md5MismatchSuspected(true, zero, { ...zero, unexpected: 1 })).toBe(false);
  });

  it('blames a peer without a password for signed segments only', () => {
    expect(md5MismatchSuspected(false, zero, { ...zero, unexpected: 2 })).toBe(true);
    expect(md5MismatchSuspected(false, zero, { ...zero, failure: 2, notFound: 2 })).toBe(false);
    expect(md5MismatchSuspected(false, { ...zero, unexpected: 2 }, { ...zero, unexpected: 2 })).toBe(false);
  });
});
