/**
 * MySQL / MariaDB behind listener `auth: gateway` (docs/identity.md). The client signs in to
 * portwarden: the HandshakeResponse's user is the identity, the password its token. The
 * gateway greets the client itself (the target's version, connection id and capabilities, its
 * own random scramble, naming caching_sha2_password) and checks the token with the plugin
 * sign-in-plugins.ts picks — caching_sha2_password's full authentication over TLS,
 * mysql_native_password against a stored hash, mysql_clear_password on loopback — or signs the
 * client in by its certificate (mTLS). Then it logs in to the target as the mapped user with
 * the stored password (MysqlUpstreamLogin) and, from the target's OK on, hands the connection
 * to the ordinary session. The client's token is never forwarded, recorded or logged.
 */
import type { EventInput } from '../../audit/event.js';
import { errorMessage, ProtocolError } from '../../errors.js';
import { BACKLOG_EXCEEDED, SignInBacklog } from '../sign-in-backlog.js';
import type { GatewayAuth, ProtocolSession, SessionContext } from '../session.js';
import {
  authMoreDataPacket,
  authSwitchPacket,
  decodeClientHello,
  greetingPacket,
  HandshakePacketReader,
  newScramble,
  type ServerGreeting,
} from './handshake.js';
import { Capability, STRIPPED_CAPABILITIES } from './messages.js';
import { loginRecord } from './records.js';
import { nativeProofMatches } from './scramble.js';
import { errPacket } from './serializer.js';
import { createMysqlSession } from './session.js';
import {
  CACHING_SHA2,
  firstStep,
  NATIVE,
  NO_NATIVE_HASH,
  nextStep,
  PERFORM_FULL_AUTHENTICATION,
  type Expect,
  type SignInStep,
} from './sign-in-plugins.js';
import { MysqlUpstreamLogin, type LoginFields, type TargetError } from './upstream-login.js';

/** A sign-in packet carries a token or a JWT: a few KiB at most. */
const MAX_SIGN_IN_PACKET = 64 * 1024;

/** ER_ACCESS_DENIED_ERROR (28000), as the server answers a wrong password. */
const ACCESS_DENIED = 1045;
const ACCESS_DENIED_STATE = '28000';
/** ER_UNKNOWN_COM_ERROR with SQLSTATE 08S01: the client broke the protocol. */
const PROTOCOL_ERRNO = 1047;
const PROTOCOL_STATE = '08S01';

type Phase =
  | 'greeting' // waiting for the target's greeting
  | 'hello' // greeted the client; waiting for SSLRequest / HandshakeResponse41
  | 'auth' // asked the client for more (see `expect`)
  | 'verifying'
  | 'upstream'
  | 'open'
  | 'closed';

class MysqlGatewayAuthSession implements ProtocolSession {
  private phase: Phase = 'greeting';
  private readonly reader = new HandshakePacketReader(MAX_SIGN_IN_PACKET, 'client');
  private readonly login: MysqlUpstreamLogin;
  private inner: ProtocolSession | null = null;
  /** The inner session's bytes reach the sockets only once the connection is handed over. */
  private relay = false;
  private greeting: { readonly server: ServerGreeting; readonly raw: Buffer } | null = null;
  private clientTls = false;
  /** Sequence id of the client's last packet: every answer is one more. */
  private clientSeq = 0;
  private identityName = '';
  private scramble: Buffer = Buffer.alloc(0);
  /** What the client's next packet answers while `auth`. */
  private expect: Expect = 'native';
  /** The plugin the sign-in runs (recorded on a refusal). */
  private plugin = CACHING_SHA2;
  private fields: LoginFields | null = null;
  private database: string | undefined;
  /** Client bytes that arrived while the sign-in was checked or the target login ran. */
  private readonly backlog = new SignInBacklog();

  constructor(
    private readonly ctx: SessionContext,
    private readonly auth: GatewayAuth,
  ) {
    this.login = new MysqlUpstreamLogin({
      toUpstream: (bytes) => ctx.toUpstream(bytes),
      greeted: (server, raw) => this.greetClient(server, raw),
      done: (rest) => this.open(rest),
      failed: (reason, error) => this.failTarget(reason, error),
    });
  }

  onClientData(chunk: Buffer): void {
    switch (this.phase) {
      case 'open':
        this.inner?.onClientData(chunk);
        return;
      case 'verifying':
      case 'upstream':
        if (!this.backlog.push(chunk)) this.protocolFailure(BACKLOG_EXCEEDED);
        return;
      case 'closed':
        return;
      default:
        break;
    }
    try {
      this.reader.push(chunk);
      for (let p = this.reader.next(); p !== null; p = this.reader.next()) {
        this.clientSeq = p.seq;
        if (this.phase === 'hello') this.onHello(p.payload);
        else if (this.phase === 'auth') this.step(nextStep(this.expect, p.payload));
        else throw new ProtocolError('mysql', 'client: a packet before the greeting');
        if (this.phase === 'hello' || this.phase === 'auth') continue;
        if (this.phase === 'verifying' || this.phase === 'upstream') {
          const rest = this.reader.takeRest();
          if (!this.backlog.push(rest)) this.protocolFailure(BACKLOG_EXCEEDED);
        }
        break;
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.protocolFailure(err.detail);
    }
  }

  onServerData(chunk: Buffer): void {
    if (this.phase === 'open') {
      this.inner?.onServerData(chunk);
      return;
    }
    if (this.phase === 'closed') return;
    try {
      this.login.push(chunk);
    } catch (err) {
      this.failTarget(`target: ${errorMessage(err)}`);
    }
  }

  onClose(): void {
    if (this.inner !== null && this.phase === 'open') this.inner.onClose?.();
    this.phase = 'closed';
  }

  // ---- the client signs in to portwarden ----------------------------------------------

  /** The target's greeting, retold with the gateway's own scramble and capabilities. */
  private greetClient(server: ServerGreeting, raw: Buffer): void {
    if (this.phase !== 'greeting') return;
    this.greeting = { server, raw };
    this.phase = 'hello';
    let capabilities =
      (server.capabilities & ~STRIPPED_CAPABILITIES) |
      Capability.PluginAuth |
      Capability.SecureConnection;
    capabilities =
      this.ctx.startClientTls === undefined
        ? capabilities & ~Capability.Ssl
        : capabilities | Capability.Ssl;
    this.scramble = newScramble();
    this.ctx.toClient(greetingPacket(server, capabilities >>> 0, this.scramble, CACHING_SHA2));
  }

  private onHello(payload: Buffer): void {
    const hello = decodeClientHello(payload);
    if (hello.type === 'ssl-request') {
      const start = this.ctx.startClientTls;
      if (start === undefined || this.clientTls)
        throw new ProtocolError('mysql', 'client: SSLRequest although TLS was not offered');
      this.clientTls = true;
      // The ClientHello follows at once; bytes already read belong to it.
      start(this.reader.takeRest());
      return;
    }
    this.identityName = hello.user;
    this.database = hello.database;
    this.fields = {
      capabilities: hello.capabilities & ~(Capability.Ssl | STRIPPED_CAPABILITIES),
      maxPacketSize: hello.maxPacketSize,
      characterSet: hello.characterSet,
      mariadbCapabilities: hello.mariadbCapabilities,
      ...(hello.database !== undefined ? { database: hello.database } : {}),
      ...(hello.attributes !== undefined ? { attributes: hello.attributes } : {}),
    };
    if (hello.database !== undefined) this.ctx.setIdentity({ database: hello.database });
    if (hello.user === '') {
      this.refuse('no identity named', undefined);
      return;
    }
    const cert = this.auth.certificate?.(hello.user) ?? { kind: 'none' };
    if (cert.kind === 'refused') {
      this.refuse(cert.reason, hello.user);
      return;
    }
    if (cert.kind === 'signed-in') {
      // The certificate alone signs this identity in: no password step (docs/identity.md).
      this.loginUpstream();
      return;
    }
    this.step(firstStep(hello.authPlugin, hello.authResponse, this.leg()));
  }

  private leg(): { tls: boolean; loopback: boolean; nativeHash: boolean } {
    return {
      tls: this.clientTls,
      loopback: this.loopback(),
      nativeHash: this.auth.mysqlNativeHash?.(this.identityName) !== undefined,
    };
  }

  /** Does what sign-in-plugins.ts decided for the client's last packet. */
  private step(next: SignInStep): void {
    switch (next.do) {
      case 'verify-token':
        this.plugin = next.plugin;
        this.verify(next.token);
        return;
      case 'verify-native':
        this.plugin = NATIVE;
        this.verifyNative(next.proof);
        return;
      case 'switch':
        this.plugin = next.plugin;
        this.phase = 'auth';
        this.expect = next.expect;
        this.ctx.toClient(
          authSwitchPacket(
            this.clientSeq + 1,
            next.plugin,
            next.expect === 'clear' ? Buffer.alloc(0) : Buffer.concat([this.scramble, NUL]),
          ),
        );
        return;
      case 'full-auth':
        this.plugin = CACHING_SHA2;
        this.phase = 'auth';
        this.expect = 'sha2-clear';
        this.ctx.toClient(
          authMoreDataPacket(this.clientSeq + 1, Buffer.from([PERFORM_FULL_AUTHENTICATION])),
        );
        return;
      case 'refuse':
        this.plugin = next.plugin;
        this.refuse(next.reason, this.identityName);
        return;
      default: {
        const never: never = next;
        return never;
      }
    }
  }

  /** A mysql_native_password scramble against the identity's stored hash. */
  private verifyNative(proof: Buffer): void {
    const user = this.identityName;
    const nonce = this.scramble;
    const result =
      this.auth.mysqlNativeHash?.(user) === undefined
        ? undefined
        : this.auth.signInMysqlNative?.(user, (hash) => nativeProofMatches(proof, nonce, hash));
    if (result === undefined) this.refuse(NO_NATIVE_HASH, user);
    else if (result.ok) this.loginUpstream();
    else this.refuse(result.reason, user);
  }

  /** The client connects over the loopback interface. */
  private loopback(): boolean {
    const ip = this.ctx.facts().sourceIp;
    return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
  }

  private verify(secret: string): void {
    this.phase = 'verifying';
    const user = this.identityName;
    void this.auth.signIn(user, secret).then((result) => {
      if (this.phase === 'closed') return;
      if (result.ok) this.loginUpstream();
      else this.refuse(result.reason, user);
    });
  }

  /** Refuses the sign-in natively (ERR 1045, as the server does) and records why. */
  private refuse(reason: string, user: string | undefined): void {
    this.phase = 'closed';
    const host = this.ctx.facts().sourceIp;
    const message = `Access denied for user '${user ?? ''}'@'${host}' (using password: YES)`;
    this.ctx.record(signInFailure(this.database, user, reason, message, this.plugin));
    this.ctx.toClient(errPacket(this.clientSeq + 1, ACCESS_DENIED, ACCESS_DENIED_STATE, message));
    this.ctx.close('policy', `gateway sign-in refused: ${reason}`);
  }

  // ---- the gateway logs in to the target ---------------------------------------------

  private loginUpstream(): void {
    let creds;
    try {
      creds = this.auth.upstreamCredentials();
    } catch (err) {
      this.failTarget(errorMessage(err));
      return;
    }
    const fields = this.fields;
    const greeting = this.greeting;
    if (fields === null || greeting === null) return;
    this.phase = 'upstream';
    const upstreamUser = creds.user ?? this.identityName;
    const response = this.login.start(upstreamUser, creds.password ?? '', fields);
    // The ordinary session reads the greeting and a HandshakeResponse naming the mapped user,
    // so db.user and policy's database facts are the target's while user.* stays the identity.
    // Nothing it writes reaches a socket until the target's OK (see `relay`).
    const inner = createMysqlSession({
      ...this.ctx,
      toClient: (bytes) => {
        if (this.relay) this.ctx.toClient(bytes);
      },
      toUpstream: (bytes) => {
        if (this.relay) this.ctx.toUpstream(bytes);
      },
    });
    this.inner = inner;
    inner.onServerData(greeting.raw);
    inner.onClientData(response);
  }

  /** The target said OK: answer the client with it (as its next packet) and hand over. */
  private open(rest: Buffer): void {
    const inner = this.inner;
    if (inner === null || this.phase !== 'upstream') return;
    this.phase = 'open';
    this.relay = true;
    rest[3] = (this.clientSeq + 1) & 0xff;
    inner.onServerData(rest);
    for (const b of this.backlog.take()) if (this.phase === 'open') inner.onClientData(b);
  }

  private failTarget(reason: string, error?: TargetError): void {
    if (this.phase === 'closed' || this.phase === 'open') return;
    const greeted = this.phase !== 'greeting';
    this.phase = 'closed';
    const detail = error === undefined ? reason : `${reason}: ${error.message}`;
    this.ctx.record(targetFailure(this.database, detail, error));
    // Before the greeting the client waits for packet 0; after, for the next one.
    const seq = greeted ? this.clientSeq + 1 : 0;
    this.ctx.toClient(
      errPacket(
        seq,
        ACCESS_DENIED,
        ACCESS_DENIED_STATE,
        'portwarden could not sign in to the target',
      ),
    );
    this.ctx.close('upstream-unreachable', `target sign-in failed: ${detail}`);
  }

  private protocolFailure(detail: string): void {
    this.phase = 'closed';
    this.ctx.toClient(
      errPacket(this.clientSeq + 1, PROTOCOL_ERRNO, PROTOCOL_STATE, `portwarden: ${detail}`),
    );
    this.ctx.close('protocol-error', `client: ${detail}`);
  }
}

const NUL = Buffer.from([0]);

/** A refused gateway sign-in: the name tried and why, never the secret. */
function signInFailure(
  database: string | undefined,
  user: string | undefined,
  reason: string,
  message: string,
  authPlugin: string,
): EventInput {
  const base = loginRecord(database === undefined ? {} : { namespace: database }, {
    outcome: 'failure',
    changeUser: false,
    authPlugin,
    sqlState: ACCESS_DENIED_STATE,
    errorNumber: ACCESS_DENIED,
    message,
    reason,
  });
  return {
    ...base,
    event: { ...base.event, type: ['start', 'denied'] },
    ...(user === undefined ? {} : { user: { name: user } }),
  };
}

/** The target refused the gateway's own login (or could not be logged in to). */
function targetFailure(
  database: string | undefined,
  detail: string,
  error: TargetError | undefined,
): EventInput {
  return loginRecord(database === undefined ? {} : { namespace: database }, {
    outcome: 'failure',
    changeUser: false,
    reason: `target sign-in failed: ${detail}`,
    ...(error === undefined
      ? {}
      : { sqlState: error.sqlState, errorNumber: error.errorNumber, message: error.message }),
  });
}

/** MySQL session for a listener: gateway sign-in when the listener has `auth: gateway`. */
export function createMysqlListenerSession(ctx: SessionContext): ProtocolSession {
  return ctx.gatewayAuth
    ? new MysqlGatewayAuthSession(ctx, ctx.gatewayAuth)
    : createMysqlSession(ctx);
}
