/**
 * Builds ClientHello bytes for tests, field by field from RFC 8446 §4.1.2 (ClientHello),
 * §4.2 (Extension), §5.1 (TLSPlaintext); RFC 6066 §3 (server_name); RFC 7301 §3.1 (ALPN).
 * Independent of the production reader.
 */

function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
function u16(n: number): Buffer {
  return Buffer.from([(n >> 8) & 0xff, n & 0xff]);
}
function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}
function vec8(body: Buffer): Buffer {
  return Buffer.concat([u8(body.length), body]);
}
function vec16(body: Buffer): Buffer {
  return Buffer.concat([u16(body.length), body]);
}

export function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(data)]);
}

export function sniExtension(host: string): Buffer {
  return extension(0, vec16(Buffer.concat([u8(0), vec16(Buffer.from(host, 'latin1'))])));
}

export function alpnExtension(protocols: readonly string[]): Buffer {
  return extension(16, vec16(Buffer.concat(protocols.map((p) => vec8(Buffer.from(p, 'latin1'))))));
}

export function supportedVersionsExtension(versions: readonly number[]): Buffer {
  return extension(43, vec8(Buffer.concat(versions.map(u16))));
}

export function groupsExtension(groups: readonly number[]): Buffer {
  return extension(10, vec16(Buffer.concat(groups.map(u16))));
}

export function pointFormatsExtension(formats: readonly number[]): Buffer {
  return extension(11, vec8(Buffer.from(formats)));
}

export interface HelloSpec {
  readonly legacyVersion?: number;
  readonly ciphers?: readonly number[];
  readonly sessionId?: Buffer;
  /** Encoded extensions; undefined omits the extensions block entirely. */
  readonly extensions?: readonly Buffer[];
}

/** The ClientHello handshake message: msg_type 1, uint24 length, body. */
export function clientHelloMessage(spec: HelloSpec = {}): Buffer {
  const body = Buffer.concat([
    u16(spec.legacyVersion ?? 0x0303),
    Buffer.alloc(32, 0x42),
    vec8(spec.sessionId ?? Buffer.alloc(32, 0x07)),
    vec16(Buffer.concat((spec.ciphers ?? [0x1301, 0x1302, 0xc02f]).map(u16))),
    vec8(Buffer.from([0])),
    ...(spec.extensions === undefined ? [] : [vec16(Buffer.concat(spec.extensions))]),
  ]);
  return Buffer.concat([u8(1), u24(body.length), body]);
}

/** Wraps handshake bytes in TLSPlaintext records of at most `fragment` bytes each. */
export function records(handshake: Buffer, fragment = 16384, recordVersion = 0x0301): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < handshake.length; at += fragment) {
    const piece = handshake.subarray(at, at + fragment);
    out.push(Buffer.concat([u8(22), u16(recordVersion), u16(piece.length), piece]));
  }
  return Buffer.concat(out);
}
