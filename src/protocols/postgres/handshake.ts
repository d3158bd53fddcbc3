/**
 * The sign-in phase of listener `auth: gateway`, where the gateway itself speaks the
 * authentication exchange on both legs: a small bounded reader for whole messages, and the
 * few messages it writes (protocol-message-formats). The exchange is a handful of short
 * messages per connection, so the reader simply keeps the unread bytes as one buffer.
 */
import { ProtocolError } from '../../errors.js';
import { AuthCode } from './messages.js';

/** A whole message: `code` 0 for an untyped startup-phase packet. */
export interface HandshakeFrame {
  readonly code: number;
  /** The body after type and length (a view). */
  readonly body: Buffer;
  /** The whole message as received (a view). */
  readonly raw: Buffer;
}

/** Startup-phase packets are capped by the server at 10000 bytes (MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP_PACKET = 10_000;

export class HandshakeReader {
  private unread: Buffer = Buffer.alloc(0);

  /**
   * `startup`: the peer begins with untyped packets (a client); `maxBytes` caps a typed
   * message's declared length before any of it is buffered.
   */
  constructor(
    private startup: boolean,
    private readonly maxBytes: number,
    private readonly direction: string,
  ) {}

  push(chunk: Buffer): void {
    this.unread = this.unread.length === 0 ? chunk : Buffer.concat([this.unread, chunk]);
  }

  /** After the StartupMessage every message carries a type byte. */
  setTyped(): void {
    this.startup = false;
  }

  /** The next whole message, or null until more bytes arrive. */
  next(): HandshakeFrame | null {
    const data = this.unread;
    const header = this.startup ? 4 : 5;
    if (data.length < header) return null;
    const code = this.startup ? 0 : (data[0] ?? 0);
    // Length includes itself but not the type byte — protocol-message-formats.
    const length = data.readInt32BE(this.startup ? 0 : 1);
    const min = this.startup ? 8 : 4;
    const max = this.startup ? MAX_STARTUP_PACKET : this.maxBytes;
    if (length < min || length > max) {
      throw new ProtocolError(
        'postgres',
        `${this.direction}: message length ${length} outside ${min}..${max} during sign-in`,
      );
    }
    const total = length + (this.startup ? 0 : 1);
    if (data.length < total) return null;
    const raw = data.subarray(0, total);
    this.unread = data.subarray(total);
    return { code, body: raw.subarray(header), raw };
  }

  /** The bytes not taken as messages (handed on to the session proper). */
  takeRest(): Buffer {
    const rest = this.unread;
    this.unread = Buffer.alloc(0);
    return rest;
  }
}

function typed(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const int32 = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
};
const cstring = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');

const AUTH = 0x52; // 'R'
const PASSWORD = 0x70; // 'p'

/** AuthenticationCleartextPassword. */
export const AUTH_CLEARTEXT = typed(AUTH, int32(AuthCode.CleartextPassword));

/** AuthenticationSASL offering the given mechanisms. */
export function authSasl(mechanisms: readonly string[]): Buffer {
  return typed(
    AUTH,
    Buffer.concat([int32(AuthCode.SASL), ...mechanisms.map(cstring), Buffer.from([0])]),
  );
}

/** AuthenticationSASLContinue / AuthenticationSASLFinal with the mechanism's data. */
export function authSaslData(code: 11 | 12, data: string): Buffer {
  return typed(AUTH, Buffer.concat([int32(code), Buffer.from(data, 'utf8')]));
}

/** PasswordMessage: a NUL-terminated password (cleartext or `md5…`). */
export function passwordMessage(password: string): Buffer {
  return typed(PASSWORD, cstring(password));
}

/** SASLInitialResponse: mechanism, then the client-first-message with its length. */
export function saslInitialResponse(mechanism: string, data: string): Buffer {
  const bytes = Buffer.from(data, 'utf8');
  return typed(PASSWORD, Buffer.concat([cstring(mechanism), int32(bytes.length), bytes]));
}

/** SASLResponse: the mechanism's data, nothing else. */
export function saslResponse(data: string): Buffer {
  return typed(PASSWORD, Buffer.from(data, 'utf8'));
}

/** StartupMessage with the given protocol version and parameters. */
export function startupMessage(
  protocolVersion: number,
  parameters: Readonly<Record<string, string>>,
): Buffer {
  const parts = [int32(protocolVersion)];
  for (const [name, value] of Object.entries(parameters)) parts.push(cstring(name), cstring(value));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length + 4), body]);
}
