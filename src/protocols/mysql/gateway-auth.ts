/**
 * MySQL / MariaDB behind listener `auth: gateway` (docs/identity.md). The client signs in to
 * portwarden: the HandshakeResponse's user is the identity, the password its token. The
 * gateway greets the client itself (the target's version, connection id and capabilities, its
 * own random scramble), switches the client to `mysql_clear_password` — only over client TLS
 * or from loopback — and checks the token; then it logs in to the target as the mapped user
 * with the stored password (MysqlUpstreamLogin) and, from the target's OK on, hands the
 * connection to the ordinary session. The client's token is never forwarded, recorded or logged.
 */
import type { EventInput } from '../../audit/event.js';
import { errorMessage, ProtocolError } from '../../errors.js';
import type { GatewayAuth, ProtocolSession, SessionContext } from '../session.js';
import {
  authSwitchPacket,
  decodeClientHello,
  greetingPacket,
  HandshakePacketReader,
  newScramble,
  type ServerGreeting,
} from './handshake.js';
import { Capability, STRIPPED_CAPABILITIES } from './messages.js';
import { loginRecord } from './records.js';
import { errPacket } from './serializer.js';
import { createMysqlSession } from './session.js';
import { MysqlUpstreamLogin, type LoginFields, type TargetError } from './upstream-login.js';

/** A sign-in packet carries a token or a JWT: a few KiB at most. */
const MAX_SIGN_IN_PACKET = 64 * 1024;
const CLEAR_PASSWORD = 'mysql_clear_password';

/** ER_ACCESS_DENIED_ERROR (28000), as the server answers a wrong password. */
const ACCESS_DENIED = 1045;
const ACCESS_DENIED_STATE = '28000';
/** ER_UNKNOWN_COM_ERROR with SQLSTATE 08S01: the client broke the protocol. */
const PROTOCOL_ERRNO = 1047;
const PROTOCOL_STATE = '08S01';

type Phase =
  | 'greeting' // waiting for the target's greeting
  | 'hello' // greeted the client; waiting for SSLRequest / HandshakeResponse41
  | 'clear-password' // asked for mysql_clear_password
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
  private fields: LoginFields | null = null;
  private database: string | undefined;
  /** Client bytes that arrived while the sign-in was checked or the target login ran. */
  private backlog: Buffer[] = [];

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
        this.backlog.push(Buffer.from(chunk));
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
        else if (this.phase === 'clear-password') this.onClearPassword(p.payload);
        else throw new ProtocolError('mysql', 'client: a packet before the greeting');
        if (this.phase === 'hello' || this.phase === 'clear-password') continue;
        if (this.phase === 'verifying' || this.phase === 'upstream') {
          const rest = this.reader.takeRest();
          if (rest.length > 0) this.backlog.push(Buffer.from(rest));
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
    this.ctx.toClient(greetingPacket(server, capabilities >>> 0, newScramble()));
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
    if (!this.cleartextAllowed()) {
      this.refuse('mysql_clear_password needs client TLS or loopback', hello.user);
      return;
    }
    if (hello.authPlugin === CLEAR_PASSWORD) {
      // The client chose the cleartext plugin itself (--default-auth): the response is the token.
      this.verify(tokenOf(hello.authResponse));
      return;
    }
    this.phase = 'clear-password';
    this.ctx.toClient(authSwitchPacket(this.clientSeq + 1, CLEAR_PASSWORD, Buffer.alloc(0)));
  }

  private onClearPassword(payload: Buffer): void {
    this.verify(tokenOf(payload));
  }

  /** A cleartext token may cross only a TLS client leg or the loopback interface. */
  private cleartextAllowed(): boolean {
    if (this.clientTls) return true;
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
    this.ctx.record(signInFailure(this.database, user, reason, message));
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
    const backlog = this.backlog;
    this.backlog = [];
    for (const b of backlog) if (this.phase === 'open') inner.onClientData(b);
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

/** mysql_clear_password sends the password NUL-terminated. */
function tokenOf(response: Buffer): string {
  const end = response[response.length - 1] === 0 ? response.length - 1 : response.length;
  return response.toString('utf8', 0, end);
}

/** A refused gateway sign-in: the name tried and why, never the secret. */
function signInFailure(
  database: string | undefined,
  user: string | undefined,
  reason: string,
  message: string,
): EventInput {
  const base = loginRecord(database === undefined ? {} : { namespace: database }, {
    outcome: 'failure',
    changeUser: false,
    authPlugin: CLEAR_PASSWORD,
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
