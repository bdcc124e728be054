import ipaddr from 'ipaddr.js';

/**
 * Which kind of address an IP literal is. Only `unicast` (public) addresses may be scraped;
 * every other range names why it is refused. ipaddr.js keeps the IANA special-purpose tables,
 * which is exactly the knowledge we do not want to re-type by hand.
 */
export type AddressRange = ReturnType<ipaddr.IPv4['range']> | ReturnType<ipaddr.IPv6['range']> | 'invalid';

export interface AddressClass {
  /** Normalized textual form (IPv6 compact, IPv4 dotted quad). */
  address: string;
  range: AddressRange;
  public: boolean;
}

/** Ranges ipaddr.js reports as something other than plain unicast that are still reachable public space. */
const PUBLIC_RANGES = new Set<string>(['unicast']);

export function classifyAddress(ip: string): AddressClass {
  const literal = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // Zone ids (fe80::1%eth0) never name a public host.
  if (literal.includes('%') || !ipaddr.isValid(literal)) return { address: literal, range: 'invalid', public: false };
  // parse() accepts only canonical forms for v4 (isValidFourPartDecimal is stricter, but the URL
  // parser has already normalized hex/octal/decimal hosts to dotted quads before we get here).
  const parsed = ipaddr.parse(literal);
  const range = parsed.range();
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is refused outright: it reaches an IPv4 host through a
  // v6 socket, which is how guards that only look at v4 are bypassed.
  return { address: parsed.toString(), range, public: PUBLIC_RANGES.has(range) };
}

/** True when `ip` lies in one of the parsed CIDRs. */
export function inCidrs(ip: string, cidrs: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][]): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const parsed = ipaddr.parse(ip);
  return cidrs.some(([net, bits]) => parsed.kind() === net.kind() && parsed.match([net, bits] as never));
}
