// Peer addresses as the kernel reports them: an IPv4 peer reaching a dual-stack ("::") socket
// shows up as "::ffff:192.0.2.2"; peers are configured as "192.0.2.2". Address text is compared
// in one canonical form (bgp/addr.ts) so "2001:DB8::2" and "2001:db8:0::2" name the same peer.
import { formatIp, parseIp } from '../addr.ts';

/** The canonical text of an address, an IPv4-mapped one as its IPv4 address; other text as given, lowercased. */
export function canonicalAddress(address: string): string {
  const a = parseIp(address);
  if (a === undefined) return address.toLowerCase();
  const b = a.bytes;
  if (a.family === 6 && b[10] === 0xff && b[11] === 0xff && b.slice(0, 10).every((x) => x === 0)) {
    return formatIp(b.slice(12));
  }
  return formatIp(b);
}
