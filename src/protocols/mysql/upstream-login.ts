/**
 * Listener `auth: gateway`: the gateway's own login to the MySQL/MariaDB target as the mapped
 * user. It reads the server's greeting (handed to the session, which greets the client from
 * it), answers with a HandshakeResponse41 proving the stored password — mysql_native_password,
 * or caching_sha2_password's fast path when the server names it — follows AuthSwitchRequests
 * to either, and swallows that exchange; from the server's OK on, the bytes belong to the
 * ordinary session (protocol_connection_phase).
 */
import { ProtocolError } from '../../errors.js';
import {
  decodeGreeting,
  HandshakePacketReader,
  handshakeResponsePacket,
  packet,
  type HandshakePacket,
  type ServerGreeting,
} from './handshake.js';
import { ResponseHeader } from './messages.js';
import { PacketReader } from './reader.js';
import { cachingSha2Proof, nativePasswordProof } from './scramble.js';

/** Server packets during login are short; a larger one is not a login exchange. */
const MAX_LOGIN_PACKET = 64 * 1024;

const NATIVE = 'mysql_native_password';
const CACHING_SHA2 = 'caching_sha2_password';
/** caching_sha2_password AuthMoreData: the cached proof matched / the server wants the password. */
const FAST_AUTH_SUCCESS = 3;
const PERFORM_FULL_AUTHENTICATION = 4;

/** An ERR packet the target sent. */
export interface TargetError {
  readonly errorNumber: number;
  readonly sqlState: string;
  readonly message: string;
}

export interface MysqlUpstreamLoginSink {
  toUpstream(bytes: Buffer): void;
  /** The server's HandshakeV10 arrived (`raw`: a copy of the whole packet). */
  greeted(greeting: ServerGreeting, raw: Buffer): void;
  /** The server's OK arrived: `rest` holds it and every byte after it. */
  done(rest: Buffer): void;
  /** The target refused or asked for something the gateway cannot do. */
  failed(reason: string, error?: TargetError): void;
}

/** What the client asked for that the target login carries on (never the client's secret). */
export interface LoginFields {
  readonly capabilities: number;
  readonly maxPacketSize: number;
  readonly characterSet: number;
  readonly mariadbCapabilities: number;
  readonly database?: string;
  readonly attributes?: Buffer;
}

type State = 'greeting' | 'ready' | 'auth' | 'over';

export class MysqlUpstreamLogin {
  private readonly reader = new HandshakePacketReader(MAX_LOGIN_PACKET, 'server');
  private state: State = 'greeting';
  private greeting: ServerGreeting | null = null;
  private user = '';
  private password = '';
  private plugin = NATIVE;

  constructor(private readonly sink: MysqlUpstreamLoginSink) {}

  /** Server bytes; throws ProtocolError on a malformed or unexpected packet. */
  push(chunk: Buffer): void {
    if (this.state === 'over') return;
    this.reader.push(chunk);
    for (let p = this.reader.next(); p !== null; p = this.reader.next()) {
      if (this.state === 'greeting') this.onGreeting(p);
      else if (this.state === 'auth') this.onAuthPacket(p);
      else throw new ProtocolError('mysql', 'server: a packet before the gateway logged in');
      if (this.finished()) return;
    }
  }

  private finished(): boolean {
    return this.state === 'over';
  }

  /** The server's greeting, once it arrived. */
  serverGreeting(): ServerGreeting | null {
    return this.greeting;
  }

  /**
   * Log in as `user` with `password`, carrying on the client's capabilities, database and
   * attributes. Returns the HandshakeResponse41 sent (the session's parser reads it too).
   */
  start(user: string, password: string, fields: LoginFields): Buffer {
    const greeting = this.greeting;
    if (greeting === null || this.state !== 'ready')
      throw new ProtocolError('mysql', 'server: login started before the greeting');
    this.user = user;
    this.password = password;
    this.plugin = greeting.authPlugin === CACHING_SHA2 ? CACHING_SHA2 : NATIVE;
    const response = handshakeResponsePacket(1, {
      ...fields,
      // Only what the server offered; the target leg stays plain (TLS, if any, ended here).
      capabilities: fields.capabilities & greeting.capabilities,
      mariadbCapabilities: fields.mariadbCapabilities & greeting.mariadbCapabilities,
      user,
      authResponse: this.proof(this.plugin, greeting.scramble) ?? Buffer.alloc(0),
      authPlugin: this.plugin,
    });
    this.state = 'auth';
    this.sink.toUpstream(response);
    return response;
  }

  private onGreeting(p: HandshakePacket): void {
    if (p.payload[0] === ResponseHeader.Err) {
      this.fail('target refused the connection', decodeError(p.payload));
      return;
    }
    this.greeting = decodeGreeting(p.payload);
    this.state = 'ready';
    this.sink.greeted(this.greeting, Buffer.from(p.raw));
  }

  private onAuthPacket(p: HandshakePacket): void {
    const header = p.payload[0];
    switch (header) {
      case ResponseHeader.Ok:
        this.state = 'over';
        this.sink.done(Buffer.concat([p.raw, this.reader.takeRest()]));
        return;
      case ResponseHeader.Err:
        this.fail('target refused the login', decodeError(p.payload));
        return;
      case ResponseHeader.Eof: {
        // AuthSwitchRequest: plugin name, then its data (a new nonce, NUL-terminated).
        if (p.payload.length === 1) {
          this.fail('target asks for the pre-4.1 password hash (mysql_old_password)');
          return;
        }
        const reader = new PacketReader(p.payload, 'AuthSwitchRequest', 1);
        const plugin = reader.nulString();
        const data = p.payload.subarray(reader.position());
        const nonce = data[data.length - 1] === 0 ? data.subarray(0, -1) : data;
        const proof = this.proof(plugin, nonce);
        if (proof === null) {
          this.fail(`target asks for ${plugin}, which the gateway does not speak`);
          return;
        }
        this.plugin = plugin;
        this.sink.toUpstream(packet(p.seq + 1, proof));
        return;
      }
      case ResponseHeader.AuthMoreData: {
        const status = p.payload[1];
        if (this.plugin === CACHING_SHA2 && status === FAST_AUTH_SUCCESS) return;
        if (this.plugin === CACHING_SHA2 && status === PERFORM_FULL_AUTHENTICATION) {
          this.fail(
            `caching_sha2_password full authentication for ${this.user} needs TLS or RSA to the target, which the gateway does not do; a first login by another client fills the server's cache`,
          );
          return;
        }
        this.fail(`target sent more ${this.plugin} data the gateway does not understand`);
        return;
      }
      default:
        throw new ProtocolError(
          'mysql',
          `server: packet 0x${(header ?? 0).toString(16)} during login`,
        );
    }
  }

  private proof(plugin: string, nonce: Buffer): Buffer | null {
    if (plugin === NATIVE) return nativePasswordProof(this.password, nonce.subarray(0, 20));
    if (plugin === CACHING_SHA2) return cachingSha2Proof(this.password, nonce.subarray(0, 20));
    return null;
  }

  private fail(reason: string, error?: TargetError): void {
    if (this.state === 'over') return;
    this.state = 'over';
    this.sink.failed(reason, error);
  }
}

/** ERR_Packet: error number, `#` and SQLSTATE (absent before the handshake), message. */
export function decodeError(payload: Buffer): TargetError {
  const reader = new PacketReader(payload, 'ERR_Packet', 1);
  const errorNumber = reader.int2();
  let sqlState = 'HY000';
  if (reader.remaining() >= 6 && payload[3] === 0x23 /* '#' */) {
    reader.skip(1);
    sqlState = reader.string(5);
  }
  return { errorNumber, sqlState, message: reader.restString() };
}
