/**
 * The connection phase of listener `auth: gateway`, where the gateway itself speaks the
 * authentication exchange on both legs (protocol_connection_phase, protocol_connection_phase_packets):
 * a small bounded reader for whole packets, decoders for the server greeting and the client's
 * HandshakeResponse41 that keep what the passthrough parsers skip (the scramble, the auth
 * response, the raw attribute block), and the few packets the gateway writes. The exchange is a
 * handful of short packets per connection, so the reader simply keeps its unread bytes.
 */
import { randomBytes } from 'node:crypto';
import { ProtocolError } from '../../errors.js';
import { Capability, ResponseHeader } from './messages.js';
import { PacketReader } from './reader.js';

const HEADER = 4;

/** One whole packet (never a 0xFFFFFF continuation: sign-in packets are short). */
export interface HandshakePacket {
  readonly seq: number;
  readonly payload: Buffer;
  /** Header and payload as received (a view). */
  readonly raw: Buffer;
}

export class HandshakePacketReader {
  private unread: Buffer = Buffer.alloc(0);

  /** `maxBytes` caps a packet's declared length before any of it is buffered. */
  constructor(
    private readonly maxBytes: number,
    private readonly direction: string,
  ) {}

  push(chunk: Buffer): void {
    this.unread = this.unread.length === 0 ? chunk : Buffer.concat([this.unread, chunk]);
  }

  /** The next whole packet, or null until more bytes arrive. */
  next(): HandshakePacket | null {
    const data = this.unread;
    if (data.length < HEADER) return null;
    const length = data.readUIntLE(0, 3);
    if (length > this.maxBytes) {
      throw new ProtocolError(
        'mysql',
        `${this.direction}: packet length ${length} above ${this.maxBytes} during sign-in`,
      );
    }
    if (data.length < HEADER + length) return null;
    const raw = data.subarray(0, HEADER + length);
    this.unread = data.subarray(HEADER + length);
    return { seq: raw[3] ?? 0, payload: raw.subarray(HEADER), raw };
  }

  /** The bytes not taken as packets (handed on to TLS or the session proper). */
  takeRest(): Buffer {
    const rest = this.unread;
    this.unread = Buffer.alloc(0);
    return rest;
  }
}

/** A packet with header: `payload` as packet `seq`. */
export function packet(seq: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUIntLE(payload.length, 0, 3);
  out[3] = seq & 0xff;
  payload.copy(out, HEADER);
  return out;
}

const nul = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');

/** The server's HandshakeV10, with what the gateway needs to log in and to greet the client. */
export interface ServerGreeting {
  readonly serverVersion: string;
  readonly connectionId: number;
  readonly capabilities: number;
  readonly characterSet: number;
  readonly status: number;
  /** MariaDB's extended capabilities (0 from MySQL, which sets CLIENT_LONG_PASSWORD). */
  readonly mariadbCapabilities: number;
  /** The 20-byte nonce (auth-plugin-data parts 1 and 2, without the trailing NUL). */
  readonly scramble: Buffer;
  readonly authPlugin: string;
}

/** HandshakeV10 (protocol_connection_phase_packets_protocol_handshake_v10). */
export function decodeGreeting(payload: Buffer): ServerGreeting {
  const reader = new PacketReader(payload, 'HandshakeV10');
  const protocolVersion = reader.int1();
  if (protocolVersion !== 10) throw reader.fail(`protocol version ${protocolVersion}`);
  const serverVersion = reader.nulString();
  const connectionId = reader.int4();
  const part1Start = reader.position();
  reader.skip(8 + 1); // auth-plugin-data-part-1, filler
  const part1 = payload.subarray(part1Start, part1Start + 8);
  let capabilities = reader.int2();
  const characterSet = reader.int1();
  const status = reader.int2();
  capabilities = (capabilities | (reader.int2() << 16)) >>> 0;
  const authDataLength = reader.int1();
  reader.skip(6);
  const extended = reader.int4();
  if (!(capabilities & Capability.SecureConnection) || !(capabilities & Capability.Protocol41))
    throw reader.fail('server without CLIENT_PROTOCOL_41 / CLIENT_SECURE_CONNECTION');
  // Part 2 is max(13, length - 8) bytes, the last a NUL (MySQL and MariaDB send 12 + NUL).
  const part2Length = Math.max(13, authDataLength - 8);
  const part2Start = reader.position();
  reader.skip(part2Length);
  const part2 = payload.subarray(part2Start, part2Start + part2Length - 1);
  const authPlugin =
    capabilities & Capability.PluginAuth && reader.remaining() > 0
      ? reader.nulStringOrRest()
      : 'mysql_native_password';
  return {
    serverVersion,
    connectionId,
    capabilities,
    characterSet,
    status,
    mariadbCapabilities: capabilities & Capability.LongPassword ? 0 : extended,
    scramble: Buffer.concat([part1, part2]),
    authPlugin,
  };
}

/** A 20-byte scramble of printable characters (as servers make them: no NUL inside). */
export function newScramble(): Buffer {
  const bytes = randomBytes(20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = 0x21 + ((bytes[i] ?? 0) % 94);
  return bytes;
}

/** The gateway's own HandshakeV10 to the client, as packet 0. */
export function greetingPacket(
  greeting: ServerGreeting,
  capabilities: number,
  scramble: Buffer,
  plugin = 'mysql_native_password',
): Buffer {
  const head = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 6 + 4);
  let at = 0;
  head.writeUInt32LE(greeting.connectionId, at);
  at += 4;
  scramble.copy(head, at, 0, 8);
  at += 8 + 1; // filler 0
  head.writeUInt16LE(capabilities & 0xffff, at);
  at += 2;
  head[at] = greeting.characterSet;
  at += 1;
  head.writeUInt16LE(greeting.status, at);
  at += 2;
  head.writeUInt16LE(capabilities >>> 16, at);
  at += 2;
  head[at] = 21; // auth-plugin-data length: 20 + NUL
  at += 1 + 6; // reserved
  head.writeUInt32LE(greeting.mariadbCapabilities, at);
  const payload = Buffer.concat([
    Buffer.from([10]),
    nul(greeting.serverVersion),
    head,
    scramble.subarray(8, 20),
    Buffer.from([0]),
    nul(plugin),
  ]);
  return packet(0, payload);
}

/** What the client sent in its HandshakeResponse41 (or that it was an SSLRequest). */
export type ClientHello =
  | { readonly type: 'ssl-request' }
  | {
      readonly type: 'response';
      readonly capabilities: number;
      readonly maxPacketSize: number;
      readonly characterSet: number;
      readonly mariadbCapabilities: number;
      readonly user: string;
      /** The auth response: a secret (a token, for mysql_clear_password). Never record it. */
      readonly authResponse: Buffer;
      readonly database?: string;
      readonly authPlugin?: string;
      /** The connection attribute block as sent (length prefix included), if any. */
      readonly attributes?: Buffer;
    };

/** An SSLRequest is exactly the first 32 bytes of a HandshakeResponse41. */
const SSL_REQUEST_LENGTH = 32;

/** SSLRequest or HandshakeResponse41 (protocol_connection_phase_packets_protocol_handshake_response). */
export function decodeClientHello(payload: Buffer): ClientHello {
  const reader = new PacketReader(payload, 'HandshakeResponse');
  const capabilities = reader.int4();
  if (!(capabilities & Capability.Protocol41))
    throw reader.fail('HandshakeResponse320 (pre-4.1 protocol) is not supported');
  if (payload.length === SSL_REQUEST_LENGTH) {
    if (!(capabilities & Capability.Ssl)) throw reader.fail('32-byte response without CLIENT_SSL');
    return { type: 'ssl-request' };
  }
  const maxPacketSize = reader.int4();
  const characterSet = reader.int1();
  reader.skip(19);
  const mariadbCapabilities = reader.int4();
  const user = reader.nulString();
  let authLength: number;
  if (capabilities & Capability.PluginAuthLenencData) authLength = reader.lenencLength();
  else if (capabilities & Capability.SecureConnection) authLength = reader.int1();
  else authLength = payload.indexOf(0, reader.position()) - reader.position();
  const authStart = reader.position();
  if (authLength < 0) throw reader.fail('auth response without its NUL');
  reader.skip(authLength);
  const authResponse = payload.subarray(authStart, authStart + authLength);
  if (!(capabilities & (Capability.PluginAuthLenencData | Capability.SecureConnection)))
    reader.skip(1);
  let database: string | undefined;
  if (capabilities & Capability.ConnectWithDb && reader.remaining() > 0)
    database = reader.nulStringOrRest();
  let authPlugin: string | undefined;
  if (capabilities & Capability.PluginAuth && reader.remaining() > 0)
    authPlugin = reader.nulStringOrRest();
  let attributes: Buffer | undefined;
  if (capabilities & Capability.ConnectAttrs && reader.remaining() > 0) {
    const start = reader.position();
    reader.skip(reader.lenencLength());
    attributes = payload.subarray(start, reader.position());
  }
  return {
    type: 'response',
    capabilities,
    maxPacketSize,
    characterSet,
    mariadbCapabilities,
    user,
    authResponse,
    ...(database !== undefined && database !== '' ? { database } : {}),
    ...(authPlugin !== undefined ? { authPlugin } : {}),
    ...(attributes !== undefined ? { attributes } : {}),
  };
}

/** The gateway's HandshakeResponse41 to the target, as packet `seq`. */
export function handshakeResponsePacket(
  seq: number,
  fields: {
    readonly capabilities: number;
    readonly maxPacketSize: number;
    readonly characterSet: number;
    readonly mariadbCapabilities: number;
    readonly user: string;
    readonly authResponse: Buffer;
    readonly database?: string;
    readonly authPlugin: string;
    readonly attributes?: Buffer;
  },
): Buffer {
  let capabilities =
    (fields.capabilities |
      Capability.Protocol41 |
      Capability.SecureConnection |
      Capability.PluginAuth) &
    ~(Capability.PluginAuthLenencData | Capability.ConnectWithDb | Capability.ConnectAttrs);
  if (fields.database !== undefined) capabilities |= Capability.ConnectWithDb;
  if (fields.attributes !== undefined) capabilities |= Capability.ConnectAttrs;
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(capabilities >>> 0, 0);
  fixed.writeUInt32LE(fields.maxPacketSize, 4);
  fixed[8] = fields.characterSet;
  fixed.writeUInt32LE(fields.mariadbCapabilities, 28);
  const parts = [
    fixed,
    nul(fields.user),
    Buffer.from([fields.authResponse.length]),
    fields.authResponse,
  ];
  if (fields.database !== undefined) parts.push(nul(fields.database));
  parts.push(nul(fields.authPlugin));
  if (fields.attributes !== undefined) parts.push(fields.attributes);
  return packet(seq, Buffer.concat(parts));
}

/** AuthMoreData: 0x01 then the plugin's bytes (caching_sha2_password: 3 fast auth OK, 4 full). */
export function authMoreDataPacket(seq: number, data: Buffer): Buffer {
  return packet(seq, Buffer.concat([Buffer.from([0x01]), data]));
}

/** AuthSwitchRequest: 0xFE, the plugin's name, its data (protocol_connection_phase_packets_protocol_auth_switch_request). */
export function authSwitchPacket(seq: number, plugin: string, data: Buffer): Buffer {
  return packet(seq, Buffer.concat([Buffer.from([ResponseHeader.Eof]), nul(plugin), data]));
}
