/**
 * IP literals and CIDR prefixes as the policy language writes them: `10.0.0.0/8`,
 * `2001:db8::/32`, or a single address (a /32 or /128). Parsed once at compile time.
 */
import net from 'node:net';

/** A validated CIDR prefix; `address` is the text as written (host bits are zero). */
export interface Cidr {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  readonly prefix: number;
}

/** Parse `addr` or `addr/prefix`; a string result is the reason it is not a CIDR. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  // Zone ids (fe80::1%eth0) name an interface, not a network; they cannot be matched.
  const family = address.includes('%')
    ? null
    : net.isIPv4(address)
      ? 'ipv4'
      : net.isIPv6(address)
        ? 'ipv6'
        : null;
  if (family === null) return 'not an IP address';
  const max = family === 'ipv4' ? 32 : 128;
  if (slash < 0) return { family, address, prefix: max };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return `prefix must be 0-${max}`;
  const prefix = Number(prefixText);
  if (prefix > max) return `prefix must be 0-${max}`;
  const bytes = ipBytes(address, family);
  if (!hostBitsZero(bytes, prefix)) return 'host bits set beyond the prefix';
  return { family, address, prefix };
}

/** The text of a CIDR, `/prefix` omitted for a single address. */
export function formatCidr(cidr: Cidr): string {
  const max = cidr.family === 'ipv4' ? 32 : 128;
  return cidr.prefix === max ? cidr.address : `${cidr.address}/${cidr.prefix}`;
}

/** 4 or 16 bytes of an address already validated by net.isIPv4 / net.isIPv6. */
function ipBytes(address: string, family: 'ipv4' | 'ipv6'): Uint8Array {
  if (family === 'ipv4') return Uint8Array.from(address.split('.').map(Number));
  const out = new Uint8Array(16);
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4) is the last 32 bits — RFC 4291 §2.2.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const [a = 0, b = 0, c = 0, d = 0] = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((group) => parseInt(group, 16));
  const double = text.indexOf('::');
  let groups: number[];
  if (double < 0) {
    groups = parse(text);
  } else {
    const head = parse(text.slice(0, double));
    const back = parse(text.slice(double + 2));
    groups = [...head, ...new Array<number>(8 - head.length - back.length).fill(0), ...back];
  }
  for (let i = 0; i < 8; i++) {
    const g = groups[i] ?? 0;
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  return out;
}

function hostBitsZero(bytes: Uint8Array, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    const byte = bytes[bit >> 3] ?? 0;
    if ((byte >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}
