// Addresses in configuration files and resources: the one canonical text every spelling of an
// address shares, and the addresses that can never be a BGP peer, a local address or a next hop.
//
// Canonical text is felix's (felix/model/addr.ts, on ipaddr.js: RFC 5952 as inet_ntop writes it),
// with an IPv4-mapped IPv6 address (::ffff:192.0.2.2, in any spelling) written as the IPv4 address
// it maps: a dual-stack socket reports an IPv4 peer that way, and the kernel connects to it over
// IPv4. So "2001:DB8::2", "2001:db8:0:0::2" and "::ffff:192.0.2.2" vs "192.0.2.2" compare equal.
import { formatIp, parseIp } from '../../felix/index.ts';

export interface CanonicalAddress {
  readonly address: string;
  readonly family: 4 | 6;
  /** The text was an IPv4-mapped IPv6 address. */
  readonly mapped: boolean;
}

function bytesOf(text: string): readonly number[] | undefined {
  return parseIp(text)?.bytes;
}

function isMapped(b: readonly number[]): boolean {
  if (b.length !== 16 || b[10] !== 0xff || b[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return true;
}

/** The canonical text and family of an address; undefined when the text is not an address. */
export function canonicalAddress(text: string): CanonicalAddress | undefined {
  const b = bytesOf(text);
  if (b === undefined) return undefined;
  if (b.length === 4) return { address: formatIp(b), family: 4, mapped: false };
  if (isMapped(b)) return { address: formatIp(b.slice(12)), family: 4, mapped: true };
  return { address: formatIp(b), family: 6, mapped: false };
}

/**
 * Why no TCP session can have this address at either end, or undefined when it can: the
 * unspecified address (0.0.0.0, ::) belongs to no host, a multicast address (224.0.0.0/4,
 * ff00::/8) to a group, and 255.255.255.255 is the limited broadcast; TCP connects to none of
 * them. The message starts with the canonical address.
 */
export function unusableAddress(text: string): string | undefined {
  const a = canonicalAddress(text);
  if (a === undefined) return undefined;
  const b = bytesOf(a.address) as readonly number[];
  if (b.every((x) => x === 0)) return `${a.address} is the unspecified address, which no host has`;
  if (a.family === 4 ? (b[0] as number) >> 4 === 0xe : b[0] === 0xff)
    return `${a.address} is a multicast address, not one host`;
  if (a.family === 4 && b.every((x) => x === 0xff))
    return `${a.address} is the broadcast address, not one host`;
  return undefined;
}

/** Like unusableAddress, but the unspecified address passes: for a listener it means "any". */
export function unusableListenAddress(text: string): string | undefined {
  return isUnspecified(text) ? undefined : unusableAddress(text);
}

/** Whether the address is the unspecified one (0.0.0.0, ::, ::ffff:0.0.0.0). */
export function isUnspecified(text: string): boolean {
  const a = canonicalAddress(text);
  return a !== undefined && /^(0\.0\.0\.0|::)$/.test(a.address);
}
