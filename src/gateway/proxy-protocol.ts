/**
 * PROXY protocol v1 and v2 (HAProxy doc/proxy-protocol.txt): read the header a trusted load
 * balancer puts before the client's bytes, and write a v2 header toward a target.
 */
import { PortwardenError } from '../errors.js';
import { formatIp, ipToBytes, unmapIpv4 } from './community-id.js';

export interface ProxyEndpoint {
  readonly ip: string;
  readonly port: number;
}

export interface ProxyTlv {
  readonly type: number;
  readonly value: Buffer;
}

/** A decoded PROXY header; no addresses for v1 UNKNOWN, v2 LOCAL or v2 UNSPEC. */
export interface ProxyHeader {
  readonly version: 1 | 2;
  readonly command: 'proxy' | 'local';
  readonly family: 'tcp4' | 'tcp6' | 'unknown';
  readonly source?: ProxyEndpoint;
  readonly destination?: ProxyEndpoint;
  readonly tlvs: readonly ProxyTlv[];
  readonly uniqueId?: string;
  readonly authority?: string;
}

export type ProxyReadResult =
  | { readonly state: 'need-more' }
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly rest: Buffer };

export interface ProxyHeaderReaderOptions {
  /** Largest v2 length field (bytes after the 16-byte fixed part) accepted; default 4096. */
  readonly maxV2Length?: number;
}

/** v2 TLV types — proxy-protocol.txt §2.2.1–2.2.7. */
export const PP2_TYPE = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
} as const;

/** §2.1: "PROXY " then the rest of the line; the whole line is at most 107 bytes. */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX = 107;
/** §2.2: the 12-byte v2 signature, then ver/cmd, fam/proto, length (u16 BE). */
const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_FIXED = 16;
const V2_LENGTH_LIMIT = 0xffff;
const UNIQUE_ID_MAX = 128;
const CR = 0x0d;
const LF = 0x0a;

const NO_MORE: ProxyReadResult = { state: 'need-more' };

/**
 * Incremental reader for the PROXY header at the start of a connection; `push` each chunk
 * until it answers `done` with the header and the bytes that followed it.
 */
export class ProxyHeaderReader {
  private readonly maxV2Length: number;
  /**
   * One scratch buffer sized for the whole header (107 bytes, grown once for a large v2),
   * so byte-by-byte delivery never allocates; the header is tiny, a copy costs nothing.
   */
  private scratch: Buffer = Buffer.allocUnsafe(V1_MAX);
  private filled = 0;
  private version: 0 | 1 | 2 = 0;
  private needed = V2_FIXED;
  private v2LengthKnown = false;
  private finished = false;

  constructor(options: ProxyHeaderReaderOptions = {}) {
    const max = options.maxV2Length ?? 4096;
    if (!Number.isInteger(max) || max < 0 || max > V2_LENGTH_LIMIT) {
      throw new PortwardenError('PW_ERR_CONFIG', {
        detail: `PROXY maxV2Length ${max} not in 0–${V2_LENGTH_LIMIT}`,
      });
    }
    this.maxV2Length = max;
  }

  /** Feed the next chunk; throws PW_ERR_PROXY_HEADER on anything that is not a valid header. */
  push(chunk: Buffer): ProxyReadResult {
    if (this.finished) {
      throw new PortwardenError('PW_ERR_INTERNAL', {
        detail: 'PROXY header reader pushed after done',
      });
    }
    let offset = 0;
    while (offset < chunk.length) {
      const before = this.filled;
      const take = Math.min(chunk.length - offset, this.capacity() - before);
      chunk.copy(this.scratch, before, offset, offset + take);
      this.filled += take;
      offset += take;
      const end = this.advance(before);
      if (end >= 0) {
        this.finished = true;
        const header = this.version === 1 ? this.decodeV1(end) : this.decodeV2();
        // Bytes past the header came from this chunk: hand them on without a copy.
        const rest = chunk.subarray(offset - (this.filled - end));
        return { state: 'done', header, rest };
      }
    }
    return NO_MORE;
  }

  /** Bytes the scratch may hold now: the v1 bound, or the known v2 header length. */
  private capacity(): number {
    return this.version === 1 ? V1_MAX : this.needed;
  }

  /** Check the bytes from `from` on; the header's end offset once complete, else -1. */
  private advance(from: number): number {
    if (this.version === 0) {
      this.detectVersion();
      if (this.version === 0) return -1;
    }
    if (this.version === 1) return this.findV1End(from);
    if (!this.v2LengthKnown && this.filled >= V2_FIXED) this.readV2Fixed();
    return this.filled >= this.needed ? this.needed : -1;
  }

  /** Match the received prefix against both signatures; a receiver never guesses (§2). */
  private detectVersion(): void {
    const v1 = prefixMatches(this.scratch, this.filled, V1_PREFIX);
    const v2 = prefixMatches(this.scratch, this.filled, V2_SIGNATURE);
    if (!v1 && !v2) fail('connection does not start with a PROXY v1 or v2 signature');
    if (v1 && this.filled >= V1_PREFIX.length) this.version = 1;
    else if (v2 && this.filled >= V2_SIGNATURE.length) this.version = 2;
  }

  /** §2.1: the line ends at the first CRLF; a lone CR or LF, or no CRLF by 107 bytes, fails. */
  private findV1End(from: number): number {
    const start = Math.max(V1_PREFIX.length, from - 1);
    for (let i = start; i < this.filled; i++) {
      const byte = this.scratch[i];
      if (byte === LF) fail('PROXY v1 line has LF without CR');
      if (byte === CR) {
        if (i + 1 >= this.filled) return -1;
        if (this.scratch[i + 1] !== LF) fail('PROXY v1 line has CR without LF');
        return i + 2;
      }
    }
    if (this.filled >= V1_MAX) fail(`PROXY v1 line longer than ${V1_MAX} bytes`);
    return -1;
  }

  /** §2.2: version nibble 2, then the declared length, bounded before any byte is kept. */
  private readV2Fixed(): void {
    const verCmd = this.scratch[12] ?? 0;
    if (verCmd >> 4 !== 2) fail(`PROXY v2 version nibble ${verCmd >> 4}, expected 2`);
    const length = this.scratch.readUInt16BE(14);
    if (length > this.maxV2Length)
      fail(`PROXY v2 length ${length} exceeds limit ${this.maxV2Length}`);
    this.needed = V2_FIXED + length;
    this.v2LengthKnown = true;
    if (this.needed > this.scratch.length) {
      const grown = Buffer.allocUnsafe(this.needed);
      this.scratch.copy(grown, 0, 0, this.filled);
      this.scratch = grown;
    }
  }

  private decodeV1(end: number): ProxyHeader {
    const line = this.scratch.toString('latin1', V1_PREFIX.length, end - 2);
    const fields = line.split(' ');
    const proto = fields[0];
    if (proto === 'UNKNOWN') {
      // §2.1: with UNKNOWN the receiver ignores the rest of the line and uses the real peer.
      return { version: 1, command: 'proxy', family: 'unknown', tlvs: [] };
    }
    if (proto !== 'TCP4' && proto !== 'TCP6')
      fail(`PROXY v1 protocol ${JSON.stringify(proto)} not TCP4, TCP6 or UNKNOWN`);
    if (fields.length !== 5)
      fail('PROXY v1 line needs exactly: protocol src dst sport dport, single-spaced');
    const family = proto === 'TCP4' ? 'tcp4' : 'tcp6';
    const source = v1Endpoint(family, fields[1] ?? '', fields[3] ?? '', 'source');
    const destination = v1Endpoint(family, fields[2] ?? '', fields[4] ?? '', 'destination');
    return { version: 1, command: 'proxy', family, source, destination, tlvs: [] };
  }

  private decodeV2(): ProxyHeader {
    const header = this.scratch.subarray(0, this.needed);
    const command = header[12] === 0x20 ? 'local' : header[12] === 0x21 ? 'proxy' : null;
    if (command === null)
      fail(`PROXY v2 command ${(header[12] ?? 0) & 0x0f} is neither LOCAL nor PROXY`);
    const famProto = header[13] ?? 0;
    const family = famProto >> 4;
    const transport = famProto & 0x0f;
    // §2.2: families 0–3 and transports 0–2 only; anything else must be rejected.
    if (family > 3 || transport > 2)
      fail(`PROXY v2 family/transport byte 0x${hex2(famProto)} is invalid`);
    // AF_UNIX addresses are 2 × 108 bytes; LOCAL skips whatever address block is declared.
    const addressBytes = [0, 12, 36, 216][family] ?? 0;
    if (header.length - V2_FIXED < addressBytes) {
      fail(
        `PROXY v2 length ${header.length - V2_FIXED} shorter than its ${addressBytes}-byte address block`,
      );
    }
    const tlvs = readTlvs(header, V2_FIXED + addressBytes);
    const extras = tlvExtras(tlvs, header);
    if (command === 'local' || famProto === 0x00) {
      // LOCAL (health checks) and UNSPEC: keep the real peer as the source — §2.2.
      return { version: 2, command, family: 'unknown', tlvs, ...extras };
    }
    if (famProto !== 0x11 && famProto !== 0x21) {
      fail(`PROXY v2 family/transport 0x${hex2(famProto)} is not TCP over IPv4 or IPv6`);
    }
    const width = famProto === 0x11 ? 4 : 16;
    const at = V2_FIXED;
    const source = {
      ip: formatIp(header.subarray(at, at + width)),
      port: header.readUInt16BE(at + 2 * width),
    };
    const destination = {
      ip: formatIp(header.subarray(at + width, at + 2 * width)),
      port: header.readUInt16BE(at + 2 * width + 2),
    };
    return {
      version: 2,
      command,
      family: width === 4 ? 'tcp4' : 'tcp6',
      source,
      destination,
      tlvs,
      ...extras,
    };
  }
}

/** Encode a PROXY v2 PROXY header (TCP4 when both ends are IPv4 or IPv4-mapped, else TCP6). */
export function encodeProxyV2(input: {
  readonly source: ProxyEndpoint;
  readonly destination: ProxyEndpoint;
  readonly uniqueId?: string;
}): Buffer {
  let src = encodableAddress(input.source, 'source');
  let dst = encodableAddress(input.destination, 'destination');
  if (src.length !== dst.length) {
    src = mapToIpv6(src);
    dst = mapToIpv6(dst);
  }
  const id = input.uniqueId === undefined ? null : Buffer.from(input.uniqueId, 'utf8');
  if (id !== null && id.length > UNIQUE_ID_MAX) {
    fail(`unique ID is ${id.length} bytes, at most ${UNIQUE_ID_MAX} allowed (§2.2.5)`);
  }
  const length = 2 * src.length + 4 + (id === null ? 0 : 3 + id.length);
  const out = Buffer.alloc(V2_FIXED + length);
  V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21; // version 2, PROXY
  out[13] = src.length === 4 ? 0x11 : 0x21; // TCP over IPv4 / IPv6
  let at = out.writeUInt16BE(length, 14);
  at += src.copy(out, at);
  at += dst.copy(out, at);
  at = out.writeUInt16BE(input.source.port, at);
  at = out.writeUInt16BE(input.destination.port, at);
  if (id !== null) {
    at = out.writeUInt8(PP2_TYPE.UNIQUE_ID, at);
    at = out.writeUInt16BE(id.length, at);
    id.copy(out, at);
  }
  return out;
}

function encodableAddress(endpoint: ProxyEndpoint, which: string): Buffer {
  const bytes = ipToBytes(endpoint.ip);
  if (bytes === null) fail(`${which} ${endpoint.ip} is not an IP address`);
  if (!Number.isInteger(endpoint.port) || endpoint.port < 0 || endpoint.port > 0xffff) {
    fail(`${which} port ${endpoint.port} out of range`);
  }
  // Node shows IPv4 peers of dual-stack sockets as ::ffff:a.b.c.d; send them as TCP4.
  return unmapIpv4(bytes);
}

function mapToIpv6(bytes: Buffer): Buffer {
  if (bytes.length === 16) return bytes;
  const out = Buffer.alloc(16);
  out[10] = 0xff;
  out[11] = 0xff;
  bytes.copy(out, 12);
  return out;
}

function v1Endpoint(
  family: 'tcp4' | 'tcp6',
  ip: string,
  port: string,
  which: string,
): ProxyEndpoint {
  const bytes = ipToBytes(ip);
  if (bytes === null || bytes.length !== (family === 'tcp4' ? 4 : 16)) {
    fail(
      `PROXY v1 ${which} address ${JSON.stringify(ip)} is not a valid ${family === 'tcp4' ? 'IPv4' : 'IPv6'} address`,
    );
  }
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(port) || Number(port) > 0xffff) {
    fail(
      `PROXY v1 ${which} port ${JSON.stringify(port)} is not a decimal 0–65535 without leading zeros`,
    );
  }
  return { ip: formatIp(bytes), port: Number(port) };
}

/** §2.2: type u8, length u16 BE, value; they must fill the header exactly. */
function readTlvs(header: Buffer, from: number): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  let at = from;
  while (at < header.length) {
    if (header.length - at < 3) fail(`PROXY v2 TLV header truncated at offset ${at}`);
    const type = header.readUInt8(at);
    const length = header.readUInt16BE(at + 1);
    if (at + 3 + length > header.length)
      fail(`PROXY v2 TLV 0x${hex2(type)} length ${length} runs past the header`);
    tlvs.push({ type, value: header.subarray(at + 3, at + 3 + length) });
    at += 3 + length;
  }
  return tlvs;
}

/** Check the TLVs that carry rules (CRC32C, UNIQUE_ID, AUTHORITY) and lift the readable ones. */
function tlvExtras(
  tlvs: readonly ProxyTlv[],
  header: Buffer,
): { uniqueId?: string; authority?: string } {
  const extras: { uniqueId?: string; authority?: string } = {};
  for (const tlv of tlvs) {
    switch (tlv.type) {
      case PP2_TYPE.CRC32C:
        checkCrc32c(tlv, header);
        break;
      case PP2_TYPE.UNIQUE_ID:
        if (tlv.value.length > UNIQUE_ID_MAX)
          fail(`PROXY v2 UNIQUE_ID is ${tlv.value.length} bytes, at most ${UNIQUE_ID_MAX}`);
        // The ID is opaque bytes (§2.2.5); it is lifted only when printable ASCII, else left in tlvs.
        if (isPrintableAscii(tlv.value)) extras.uniqueId = tlv.value.toString('latin1');
        break;
      case PP2_TYPE.AUTHORITY:
        extras.authority = decodeUtf8(tlv.value, 'AUTHORITY');
        break;
      default:
        break;
    }
  }
  return extras;
}

/** §2.2.3: CRC32C over the whole header with the checksum field zeroed. */
function checkCrc32c(tlv: ProxyTlv, header: Buffer): void {
  if (tlv.value.length !== 4) fail(`PROXY v2 CRC32C TLV is ${tlv.value.length} bytes, expected 4`);
  const expected = tlv.value.readUInt32BE(0);
  const copy = Buffer.from(header);
  copy.fill(
    0,
    tlv.value.byteOffset - header.byteOffset,
    tlv.value.byteOffset - header.byteOffset + 4,
  );
  const actual = crc32c(copy);
  if (actual !== expected)
    fail(`PROXY v2 CRC32C mismatch: header says ${expected}, computed ${actual}`);
}

let crcTable: Uint32Array | null = null;

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table built on first use. */
export function crc32c(bytes: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (crcTable[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new PortwardenError(
      'PW_ERR_PROXY_HEADER',
      { detail: `PROXY v2 ${what} is not valid UTF-8` },
      { cause: err },
    );
  }
}

function isPrintableAscii(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte < 0x20 || byte > 0x7e) return false;
  return bytes.length > 0;
}

/** Whether the first `filled` bytes agree with `signature` as far as both go. */
function prefixMatches(bytes: Buffer, filled: number, signature: Buffer): boolean {
  const n = Math.min(filled, signature.length);
  return bytes.compare(signature, 0, n, 0, n) === 0;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function fail(detail: string): never {
  throw new PortwardenError('PW_ERR_PROXY_HEADER', { detail });
}
