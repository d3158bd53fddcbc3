/**
 * Community ID v1 (corelight community-id-spec): a flow hash that Zeek, Suricata and other
 * flow tools compute the same way, so a gateway record joins their logs. Also the strict
 * textual IP parser the gateway wire utilities share.
 */
import { createHash } from 'node:crypto';
import { PortwardenError } from '../errors.js';

/** One flow, as seen from either side; `proto` defaults to TCP (6), `seed` to 0. */
export interface CommunityIdFlow {
  readonly saddr: string;
  readonly daddr: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto?: number;
  readonly seed?: number;
}

/** IP protocols whose hash includes the two ports (ICMP ports are type/code equivalents). */
const PORTED_PROTOCOLS: ReadonlySet<number> = new Set([
  1, // ICMP
  6, // TCP
  17, // UDP
  58, // ICMPv6
  132, // SCTP
]);

/**
 * Community ID v1 of a flow: "1:" + base64(SHA-1(seed · saddr · daddr · proto · 0 · sport ·
 * dport)) with the smaller endpoint first. ICMP callers pass the spec's port equivalents.
 */
export function communityId(flow: CommunityIdFlow): string {
  const { sport, dport, proto = 6, seed = 0 } = flow;
  checkUint('seed', seed, 0xffff);
  checkUint('proto', proto, 0xff);
  checkUint('sport', sport, 0xffff);
  checkUint('dport', dport, 0xffff);
  let src = flowAddress('saddr', flow.saddr);
  let dst = flowAddress('daddr', flow.daddr);
  if (src.length !== dst.length) {
    // One side IPv4, the other IPv6: compare and hash both in their 16-byte form.
    src = toIpv6Bytes(src);
    dst = toIpv6Bytes(dst);
  }
  const addrOrder = Buffer.compare(src, dst);
  const swap = addrOrder > 0 || (addrOrder === 0 && sport > dport);
  const [a, b, pa, pb] = swap ? [dst, src, dport, sport] : [src, dst, sport, dport];
  const ported = PORTED_PROTOCOLS.has(proto);
  // Layout: seed u16 BE, saddr, daddr, proto u8, one zero pad byte, [sport, dport u16 BE].
  const input = Buffer.alloc(2 + a.length + b.length + 2 + (ported ? 4 : 0));
  let at = input.writeUInt16BE(seed, 0);
  at += a.copy(input, at);
  at += b.copy(input, at);
  at = input.writeUInt8(proto, at);
  at = input.writeUInt8(0, at);
  if (ported) {
    at = input.writeUInt16BE(pa, at);
    input.writeUInt16BE(pb, at);
  }
  return `1:${createHash('sha1').update(input).digest('base64')}`;
}

/**
 * Parse a textual IP address strictly: dotted-quad IPv4 without leading zeros (4 bytes), or
 * IPv6 per RFC 4291 §2.2 without a zone (16 bytes); null when it is neither.
 */
export function ipToBytes(ip: string): Buffer | null {
  if (ip.includes(':')) return parseIpv6(ip);
  return parseIpv4(ip);
}

/** Text form of 4 or 16 address bytes: RFC 5952 for IPv6, ::ffff:a.b.c.d for mapped IPv4. */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes.readUInt16BE(i));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${formatIp(bytes.subarray(12))}`;
  }
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else the input. */
export function unmapIpv4(bytes: Buffer): Buffer {
  if (bytes.length === 16 && isMappedIpv4(bytes)) return bytes.subarray(12);
  return bytes;
}

function isMappedIpv4(bytes: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function toIpv6Bytes(bytes: Buffer): Buffer {
  if (bytes.length === 16) return bytes;
  const mapped = Buffer.alloc(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  bytes.copy(mapped, 12);
  return mapped;
}

function flowAddress(name: string, ip: string): Buffer {
  const bytes = ipToBytes(ip);
  if (bytes === null) {
    throw new PortwardenError('PW_ERR_INTERNAL', {
      detail: `community ID: ${name} ${ip} is not an IP address`,
    });
  }
  // Node reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d; flow tools see IPv4.
  return unmapIpv4(bytes);
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new PortwardenError('PW_ERR_INTERNAL', {
      detail: `community ID: ${name} ${value} out of range 0–${max}`,
    });
  }
}

function parseIpv4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const octet = parseDecimal(parts[i] ?? '', 255);
    if (octet === null) return null;
    out[i] = octet;
  }
  return out;
}

/** Canonical decimal: 1–3 digits (for 0–255), no sign, no leading zero. */
function parseDecimal(text: string, max: number): number | null {
  if (text.length === 0 || text.length > String(max).length) return null;
  if (text.length > 1 && text.charCodeAt(0) === 0x30) return null;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value <= max ? value : null;
}

function parseIpv6(text: string): Buffer | null {
  if (text.length > 45) return null; // longest form: 6 groups of 4, 6 colons, a dotted quad
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === null || tail === null) return null;
  const total = head.length + tail.length;
  // Without "::" exactly 8 groups; with it, "::" stands for at least one zero group.
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const out = Buffer.alloc(16);
  head.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  tail.forEach((group, i) => out.writeUInt16BE(group, 16 - (tail.length - i) * 2));
  return out;
}

/** Colon-separated 16-bit groups; the last may be a dotted quad (two groups) if allowed. */
function parseGroups(text: string, lastMayBeIpv4: boolean): number[] | null {
  if (text.length === 0) return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (i === parts.length - 1 && lastMayBeIpv4 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
}
