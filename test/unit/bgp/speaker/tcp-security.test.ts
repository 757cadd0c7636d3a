// TCP-MD5 and TTL options of the speaker's peers: the checks of `password`, `ttlSecurity` and
// `multihop`, what each asks of the sockets, and real Speakers over 127.0.0.x whose kernel
// signs and checks the segments: matching keys come up, mismatched ones do not and the status
// says so, and a password change re-keys one peer while another stays up.
import { afterEach, describe, expect, it } from 'vitest';
import { peerProblem, tcpSecurityOf } from '../../../../bgp/speaker/peer-config.ts';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { PeerConfig } from '../../../../bgp/speaker/types.ts';
import { peerOf, portOf, startSpeaker, stopAll, waitFor } from './helpers.ts';

const base: PeerConfig = { address: '192.0.2.1', asn: 64513 };

describe('password, ttlSecurity and multihop checks', () => {
  it('takes a password of 1..80 octets', () => {
    expect(peerProblem({ ...base, password: 'x' })).toBeUndefined();
    expect(peerProblem({ ...base, password: 'x'.repeat(80) })).toBeUndefined();
    expect(peerProblem({ ...base, password: '' })).toEqual({
      field: 'password',
      message: 'is 0 octets long, not 1..80',
    });
    expect(peerProblem({ ...base, password: 'x'.repeat(81) })?.field).toBe('password');
    // 41 two-octet characters are 82 octets.
    expect(peerProblem({ ...base, password: 'é'.repeat(41) })?.message).toBe('is 82 octets long, not 1..80');
    expect(peerProblem({ ...base, password: 7 as unknown as string })?.field).toBe('password');
  });

  it('takes ttlSecurity 1..254 and multihop 1..255, not both', () => {
    expect(peerProblem({ ...base, ttlSecurity: 254 })).toBeUndefined();
    expect(peerProblem({ ...base, multihop: 255 })).toBeUndefined();
    expect(peerProblem({ ...base, ttlSecurity: 0 })?.field).toBe('ttlSecurity');
    expect(peerProblem({ ...base, ttlSecurity: 255 })?.message).toBe('255 is not a hop count in 1..254');
    expect(peerProblem({ ...base, ttlSecurity: 1.5 })?.field).toBe('ttlSecurity');
    expect(peerProblem({ ...base, multihop: 0 })?.message).toBe('0 is not a TTL in 1..255');
    expect(peerProblem({ ...base, multihop: 256 })?.field).toBe('multihop');
    expect(peerProblem({ ...base, ttlSecurity: 2, multihop: 2 })).toEqual({
      field: 'ttlSecurity',
      message: 'ttlSecurity and multihop cannot both be set',
    });
  });

  it('refuses the whole set naming the peer and field', () => {
    const s = new Speaker({ asn: 64512, routerId: '192.0.2.9', listen: null });
    expect(() => s.setPeers([base, { ...base, address: '192.0.2.2', multihop: 300 }])).toThrow(
      /peers\[1\]\.multihop: 300 is not a TTL in 1\.\.255/,
    );
    expect(s.peers()).toEqual([]);
  });

  it('asks the sockets for the key, TTL 255 and 256 - hops, or the multihop TTL', () => {
    expect(tcpSecurityOf(base)).toBeUndefined();
    expect(tcpSecurityOf({ ...base, password: 'k', ttlSecurity: 1 })).toEqual({
      password: 'k',
      ttl: 255,
      minTtl: 255,
    });
    expect(tcpSecurityOf({ ...base, ttlSecurity: 3 })).toEqual({ ttl: 255, minTtl: 253 });
    expect(tcpSecurityOf({ ...base, multihop: 4 })).toEqual({ ttl: 4 });
  });
});

describe('Speakers over 127.0.0.x with TCP-MD5', () => {
  afterEach(stopAll);

  const pair = async (passwordA: string | undefined, passwordB: string | undefined) => {
    const a = await startSpeaker({ asn: 64512, routerId: '10.0.0.1' });
    const b = await startSpeaker({ asn: 64513, routerId: '10.0.0.2' });
    const peer = (asn: number, port: number, password: string | undefined): PeerConfig => ({
      address: '127.0.0.1',
      asn,
      port,
      connectRetryTime: 1,
      ...(password !== undefined && { password }),
    });
    a.setPeers([peer(64513, portOf(b), passwordA)]);
    b.setPeers([peer(64512, portOf(a), passwordB)]);
    return { a, b };
  };

  it('comes up with the same password on both sides', async () => {
    const { a, b } = await pair('shared key', 'shared key');
    await waitFor(
      () => peerOf(a)?.state === 'Established' && peerOf(b)?.state === 'Established',
      'Established',
    );
    expect(peerOf(a)?.tcpMd5).toBeUndefined();
  });

  it('stays down with different passwords, and the status suspects TCP-MD5', async () => {
    const { a, b } = await pair('key one', 'key two');
    const peer = await waitFor(() => {
      const p = peerOf(a);
      return p?.tcpMd5 !== undefined ? p : undefined;
    }, 'the mismatch in the status');
    expect(peer.tcpMd5).toBe('TCP-MD5 mismatch suspected');
    expect(peer.state).not.toBe('Established');
    expect(peerOf(b)?.state).not.toBe('Established');
  });

  it('stays down when only one side has a password, and both suspect TCP-MD5', async () => {
    const { a, b } = await pair('only here', undefined);
    await waitFor(() => peerOf(a)?.tcpMd5 !== undefined, 'the mismatch at the side with the password');
    await waitFor(() => peerOf(b)?.tcpMd5 !== undefined, 'the mismatch at the side without one');
    expect(peerOf(a)?.state).not.toBe('Established');
    expect(peerOf(b)?.state).not.toBe('Established');
  });

  it('re-keys one peer on a password change while another stays Established', async () => {
    const a = await startSpeaker({ asn: 64512, routerId: '10.0.0.1' });
    const b = await startSpeaker({ asn: 64513, routerId: '10.0.0.2' });
    const c = await startSpeaker({
      asn: 64514,
      routerId: '10.0.0.3',
      listen: { address: '127.0.0.2', port: 0 },
    });
    const toB: PeerConfig = { address: '127.0.0.1', asn: 64513, port: portOf(b), password: 'b key' };
    const toC = (password: string): PeerConfig => ({
      address: '127.0.0.2',
      asn: 64514,
      port: portOf(c),
      localAddress: '127.0.0.1',
      connectRetryTime: 1,
      password,
    });
    a.setPeers([toB, toC('old c key')]);
    b.setPeers([{ address: '127.0.0.1', asn: 64512, port: portOf(a), password: 'b key' }]);
    const fromA = (password: string): PeerConfig => ({
      address: '127.0.0.1',
      asn: 64512,
      port: portOf(a),
      localAddress: '127.0.0.2',
      connectRetryTime: 1,
      password,
    });
    c.setPeers([fromA('old c key')]);
    await waitFor(
      () =>
        peerOf(a, '127.0.0.1')?.state === 'Established' && peerOf(a, '127.0.0.2')?.state === 'Established',
      'both sessions of a Established',
    );
    const bSince = peerOf(a, '127.0.0.1')?.since;
    const cSince = peerOf(a, '127.0.0.2')?.since;
    a.setPeers([toB, toC('new c key')]);
    c.setPeers([fromA('new c key')]);
    await waitFor(() => {
      const p = peerOf(a, '127.0.0.2');
      return p?.state === 'Established' && p.since !== cSince;
    }, 'the session to c again, with the new key');
    expect(peerOf(a, '127.0.0.1')).toMatchObject({ state: 'Established', since: bSince });
  });
});
