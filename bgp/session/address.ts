// Peer addresses as the kernel reports them: an IPv4 peer reaching a dual-stack ("::") socket
// shows up as "::ffff:192.0.2.2"; peers are configured as "192.0.2.2". IPv6 text is compared
// in one canonical form so "2001:DB8::2" and "2001:db8:0::2" name the same peer.
import { isIP, SocketAddress } from 'node:net';

export function canonicalAddress(address: string): string {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1] as string;
  if (isIP(lower) === 6) return new SocketAddress({ address: lower, family: 'ipv6' }).address;
  return lower;
}
