/**
 * Reads a TLS ClientHello from the first client bytes without terminating TLS: record layer
 * (RFC 8446 §5.1), handshake header and ClientHello body (§4.1.2), and the extensions a
 * record needs: server_name (RFC 6066 §3), ALPN (RFC 7301 §3.1), supported_versions
 * (RFC 8446 §4.2.1), supported_groups and ec_point_formats (for JA3). Bounded throughout.
 */
import { createHash } from 'node:crypto';
import { ProtocolError } from '../../errors.js';

const RECORD_HANDSHAKE = 22; // ContentType handshake — RFC 8446 §5.1
const HANDSHAKE_CLIENT_HELLO = 1; // HandshakeType client_hello — RFC 8446 §4
const RECORD_HEADER_BYTES = 5;
const MAX_RECORD_PAYLOAD = 16384; // 2^14 — RFC 8446 §5.1

/** Extension code points used here. */
export const EXTENSION = {
  SERVER_NAME: 0,
  SUPPORTED_GROUPS: 10,
  EC_POINT_FORMATS: 11,
  ALPN: 16,
  SUPPORTED_VERSIONS: 43,
} as const;

/** What the gateway keeps of one ClientHello. */
export interface ClientHello {
  readonly legacyVersion: number;
  readonly cipherSuites: readonly number[];
  /** Extension types in the order sent. */
  readonly extensions: readonly number[];
  readonly serverName?: string;
  readonly alpn: readonly string[];
  readonly supportedVersions: readonly number[];
  readonly supportedGroups: readonly number[];
  readonly ecPointFormats: readonly number[];
}

export interface ClientHelloLimits {
  /** Largest ClientHello handshake message accepted (body bytes). */
  readonly maxHelloBytes: number;
}

export const DEFAULT_CLIENT_HELLO_LIMITS: ClientHelloLimits = { maxHelloBytes: 64 * 1024 };

function fail(detail: string): never {
  throw new ProtocolError('tls', detail);
}

/** GREASE values (RFC 8701) are noise by design; JA3 and version choice skip them. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** A bounds-checked cursor over one buffer. */
class Cursor {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}
  get left(): number {
    return this.end - this.pos;
  }
  private need(n: number, what: string): void {
    if (this.end - this.pos < n) fail(`truncated ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++] ?? 0;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  /** A sub-cursor over a vector with a 1- or 2-byte length prefix, checked against bounds. */
  vector(prefix: 1 | 2, min: number, max: number, what: string): Cursor {
    const n = prefix === 1 ? this.u8(what) : this.u16(what);
    if (n < min || n > max) fail(`${what} length ${n} out of range`);
    this.need(n, what);
    const sub = new Cursor(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  text(): string {
    return this.buf.toString('latin1', this.pos, this.end);
  }
}

function u16List(c: Cursor, what: string): number[] {
  if (c.left % 2 !== 0) fail(`odd ${what} length`);
  const out: number[] = [];
  while (c.left > 0) out.push(c.u16(what));
  return out;
}

function serverName(c: Cursor): string | undefined {
  const list = c.vector(2, 1, 0xffff, 'server_name list');
  if (c.left !== 0) fail('bytes after server_name list');
  while (list.left > 0) {
    const type = list.u8('server_name type');
    const name = list.vector(2, 1, 0xffff, 'host_name');
    // host_name (0): ASCII, no trailing dot — RFC 6066 §3.
    if (type === 0) {
      const host = name.text();
      if (!/^[A-Za-z0-9._-]{1,253}$/.test(host)) fail('invalid server_name');
      return host.toLowerCase();
    }
  }
  return undefined;
}

function alpn(c: Cursor): string[] {
  const list = c.vector(2, 2, 0xffff, 'ALPN list');
  if (c.left !== 0) fail('bytes after ALPN list');
  const out: string[] = [];
  while (list.left > 0) out.push(list.vector(1, 1, 0xff, 'ALPN protocol').text());
  return out;
}

/** Parses a ClientHello body (after the 4-byte handshake header) — RFC 8446 §4.1.2. */
export function parseClientHello(body: Buffer): ClientHello {
  const c = new Cursor(body, 0, body.length);
  const legacyVersion = c.u16('legacy_version');
  c.skip(32, 'random');
  c.vector(1, 0, 32, 'legacy_session_id');
  const suites = c.vector(2, 2, 0xfffe, 'cipher_suites');
  const cipherSuites = u16List(suites, 'cipher_suites');
  c.vector(1, 1, 0xff, 'legacy_compression_methods');
  const hello = {
    legacyVersion,
    cipherSuites,
    extensions: [] as number[],
    alpn: [] as string[],
    supportedVersions: [] as number[],
    supportedGroups: [] as number[],
    ecPointFormats: [] as number[],
    serverName: undefined as string | undefined,
  };
  // Extensions may be absent before TLS 1.3 — RFC 5246 §7.4.1.2.
  if (c.left > 0) {
    const exts = c.vector(2, 0, 0xffff, 'extensions');
    if (c.left !== 0) fail('bytes after extensions');
    while (exts.left > 0) {
      const type = exts.u16('extension type');
      const data = exts.vector(2, 0, 0xffff, 'extension data');
      if (hello.extensions.includes(type)) fail(`duplicate extension ${type}`);
      hello.extensions.push(type);
      switch (type) {
        case EXTENSION.SERVER_NAME:
          if (data.left > 0) hello.serverName = serverName(data);
          break;
        case EXTENSION.ALPN:
          hello.alpn = alpn(data);
          break;
        case EXTENSION.SUPPORTED_VERSIONS:
          hello.supportedVersions = u16List(
            data.vector(1, 2, 254, 'supported_versions'),
            'supported_versions',
          );
          break;
        case EXTENSION.SUPPORTED_GROUPS:
          hello.supportedGroups = u16List(
            data.vector(2, 2, 0xffff, 'supported_groups'),
            'supported_groups',
          );
          break;
        case EXTENSION.EC_POINT_FORMATS: {
          const formats = data.vector(1, 1, 0xff, 'ec_point_formats');
          while (formats.left > 0) hello.ecPointFormats.push(formats.u8('ec_point_formats'));
          break;
        }
      }
    }
  }
  const { serverName: sni, ...rest } = hello;
  return sni === undefined ? rest : { ...rest, serverName: sni };
}

/** `1.3`, `1.2`, … for a protocol version number. */
export function versionName(v: number): string {
  if (v === 0x0300) return '3.0';
  if (v >= 0x0301 && v <= 0x0304) return `1.${v - 0x0301}`;
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** The highest version the client offers (supported_versions wins over legacy_version). */
export function offeredVersion(hello: ClientHello): number {
  const offered = hello.supportedVersions.filter((v) => !isGrease(v));
  return offered.length > 0 ? Math.max(...offered) : hello.legacyVersion;
}

/** JA3 fingerprint string and its MD5 (GREASE removed). */
export function ja3(hello: ClientHello): { readonly text: string; readonly hash: string } {
  const list = (xs: readonly number[]): string => xs.filter((x) => !isGrease(x)).join('-');
  const text = [
    hello.legacyVersion,
    list(hello.cipherSuites),
    list(hello.extensions),
    list(hello.supportedGroups),
    hello.ecPointFormats.join('-'),
  ].join(',');
  return { text, hash: createHash('md5').update(text).digest('hex') };
}

/**
 * Collects TLS records from the client until one whole ClientHello is read (it may span
 * records). Throws ProtocolError when the bytes are not a TLS handshake or exceed the bound.
 */
export class ClientHelloReader {
  private readonly header = Buffer.alloc(RECORD_HEADER_BYTES);
  private headerFilled = 0;
  /** Payload of the record being read, allocated once its declared length was checked. */
  private payload: Buffer | undefined;
  private payloadFilled = 0;
  private readonly fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private helloLength = -1;
  private done = false;

  constructor(private readonly limits: ClientHelloLimits = DEFAULT_CLIENT_HELLO_LIMITS) {}

  /** Bytes held between pushes. */
  get heldBytes(): number {
    return this.headerFilled + this.payloadFilled + this.fragmentBytes;
  }

  /** Feeds client bytes; returns the ClientHello once complete (later pushes return undefined). */
  push(chunk: Buffer): ClientHello | undefined {
    if (this.done) return undefined;
    let pos = 0;
    while (pos < chunk.length) {
      const payload = this.payload;
      if (payload === undefined) {
        const b = chunk[pos++] ?? 0;
        this.header[this.headerFilled++] = b;
        if (this.headerFilled === 1 && b !== RECORD_HANDSHAKE)
          fail(`not a TLS handshake record (first byte 0x${b.toString(16)})`);
        if (this.headerFilled === 2 && b !== 3) fail('not a TLS record version');
        if (this.headerFilled < RECORD_HEADER_BYTES) continue;
        const length = this.header.readUInt16BE(3);
        // Zero-length handshake fragments are forbidden — RFC 8446 §5.1.
        if (length === 0 || length > MAX_RECORD_PAYLOAD)
          fail(`record length ${length} out of range`);
        if (this.fragmentBytes + length > this.limits.maxHelloBytes + 4)
          fail('ClientHello too large');
        this.payload = Buffer.allocUnsafe(length);
        this.payloadFilled = 0;
        continue;
      }
      const take = Math.min(payload.length - this.payloadFilled, chunk.length - pos);
      chunk.copy(payload, this.payloadFilled, pos, pos + take);
      this.payloadFilled += take;
      pos += take;
      if (this.payloadFilled < payload.length) return undefined;
      this.fragments.push(payload);
      this.fragmentBytes += payload.length;
      this.payload = undefined;
      this.payloadFilled = 0;
      this.headerFilled = 0;
      const hello = this.complete();
      if (hello !== undefined) {
        this.done = true;
        this.fragments.length = 0;
        this.fragmentBytes = 0;
        return hello;
      }
    }
    return undefined;
  }

  private complete(): ClientHello | undefined {
    if (this.fragmentBytes < 4) return undefined;
    if (this.helloLength >= 0 && this.fragmentBytes < 4 + this.helloLength) return undefined;
    const all =
      this.fragments.length === 1
        ? (this.fragments[0] ?? Buffer.alloc(0))
        : Buffer.concat(this.fragments);
    if (this.helloLength < 0) {
      if (all[0] !== HANDSHAKE_CLIENT_HELLO)
        fail(`first handshake message is type ${all[0] ?? 0}, not ClientHello`);
      this.helloLength = all.readUIntBE(1, 3);
      if (this.helloLength > this.limits.maxHelloBytes)
        fail(`ClientHello length ${this.helloLength} too large`);
    }
    if (all.length < 4 + this.helloLength) return undefined;
    // Bytes after the ClientHello in the same record would be another handshake message: not expected first.
    return parseClientHello(all.subarray(4, 4 + this.helloLength));
  }
}
