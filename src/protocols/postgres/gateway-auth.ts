/**
 * PostgreSQL behind listener `auth: gateway` (docs/identity.md). The client signs in to
 * portwarden: the startup packet's `user` is the identity, the password its token. The
 * gateway answers the authentication itself — SASL SCRAM-SHA-256 when the identity has a
 * `scram_sha256` credential (and SCRAM-SHA-256-PLUS bound to the gateway's certificate over
 * client TLS), else a cleartext password, offered only over client TLS or loopback; a client
 * certificate from the listener's CA naming a certificate-only identity needs neither — then
 * sends its own StartupMessage to the target as the mapped database user,
 * logs in with the stored credentials (UpstreamLogin), and from the target's
 * AuthenticationOk on hands the connection to the ordinary session. The client's token is
 * never forwarded, recorded or logged.
 */
import type { EventInput } from '../../audit/event.js';
import { errorMessage, ProtocolError } from '../../errors.js';
import { BACKLOG_EXCEEDED, SignInBacklog } from '../sign-in-backlog.js';
import type { GatewayAuth, ProtocolSession, SessionContext } from '../session.js';
import { decodeStartup } from './frontend-parser.js';
import {
  AUTH_CLEARTEXT,
  authSasl,
  authSaslData,
  HandshakeReader,
  startupMessage,
} from './handshake.js';
import { AuthCode, FrontendCode, type ErrorFields } from './messages.js';
import { BufferReader } from './reader.js';
import { loginRecord } from './records.js';
import { tlsServerEndPoint, TLS_SERVER_END_POINT } from './channel-binding.js';
import {
  mockScramVerifier,
  parseScramVerifier,
  ScramServer,
  type ChannelBinding,
  type ScramStep,
} from './scram.js';
import { ENCRYPTION_REFUSED, errorResponse, SqlState, SSL_ACCEPT } from './serializer.js';
import { createPostgresSession } from './session.js';
import { UpstreamLogin } from './upstream-login.js';

/** A password message carries a token or a JWT: a few KiB at most. */
const MAX_SIGN_IN_MESSAGE = 64 * 1024;

const INVALID_PASSWORD = '28P01';
const INVALID_AUTHORIZATION = '28000';

type Phase =
  | 'startup'
  | 'password'
  | 'sasl-first'
  | 'sasl-final'
  | 'verifying'
  | 'upstream'
  | 'open'
  | 'closed';

/** How the client proves itself: the SCRAM exchange, or why it cannot succeed. */
interface ScramState {
  readonly server: ScramServer;
  /** The stored verifier the exchange uses (null: a mock, the sign-in fails with `reason`). */
  readonly verifier: string | null;
  readonly reason: string;
}

class PostgresGatewayAuthSession implements ProtocolSession {
  private phase: Phase = 'startup';
  private readonly reader = new HandshakeReader(true, MAX_SIGN_IN_MESSAGE, 'client');
  private inner: ProtocolSession | null = null;
  private login: UpstreamLogin | null = null;
  private clientTls = false;
  private identityName = '';
  private parameters: Readonly<Record<string, string>> = {};
  private protocolVersion = 0;
  private scram: ScramState | null = null;
  /** Client bytes that arrived while the sign-in was checked or the target login ran. */
  private readonly backlog = new SignInBacklog();

  constructor(
    private readonly ctx: SessionContext,
    private readonly auth: GatewayAuth,
  ) {}

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
      for (let f = this.reader.next(); f !== null; f = this.reader.next()) {
        this.onClientMessage(f.code, f.body, f.raw);
        if (this.signingIn()) continue;
        if (this.waiting()) {
          // Whatever the client sent past its sign-in waits for the target's login.
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

  /** Still reading the client's sign-in messages. */
  private signingIn(): boolean {
    const p = this.phase;
    return p === 'startup' || p === 'password' || p === 'sasl-first' || p === 'sasl-final';
  }

  private waiting(): boolean {
    return this.phase === 'verifying' || this.phase === 'upstream';
  }

  onServerData(chunk: Buffer): void {
    if (this.phase === 'open') {
      this.inner?.onServerData(chunk);
      return;
    }
    if (this.phase === 'closed') return;
    if (this.login === null) {
      // The target never speaks first; anything now is not PostgreSQL.
      this.failTarget('target spoke before the login');
      return;
    }
    try {
      this.login.push(chunk);
    } catch (err) {
      this.failTarget(`target: ${errorMessage(err)}`);
    }
  }

  onClose(): void {
    if (this.inner !== null && this.phase !== 'closed') this.inner.onClose?.();
    this.phase = 'closed';
  }

  // ---- the client signs in to portwarden ----------------------------------------------

  private onClientMessage(code: number, body: Buffer, raw: Buffer): void {
    if (code === 0) {
      this.onStartupPacket(body, raw);
      return;
    }
    if (code !== FrontendCode.Password) {
      throw new ProtocolError(
        'postgres',
        `expected a password message, got ${String.fromCharCode(code)}`,
      );
    }
    switch (this.phase) {
      case 'password':
        this.verifyCleartext(new BufferReader(body, 'PasswordMessage').cstring());
        return;
      case 'sasl-first':
        this.saslFirst(body);
        return;
      case 'sasl-final':
        this.saslFinal(body.toString('utf8'));
        return;
      default:
        throw new ProtocolError('postgres', 'password message before the startup packet');
    }
  }

  private onStartupPacket(body: Buffer, raw: Buffer): void {
    if (this.phase !== 'startup') throw new ProtocolError('postgres', 'second startup packet');
    const msg = decodeStartup(body);
    switch (msg.type) {
      case 'SSLRequest': {
        if (this.ctx.startClientTls === undefined || this.clientTls) {
          this.ctx.toClient(ENCRYPTION_REFUSED);
          return;
        }
        // Bytes sent in clear after SSLRequest would be taken as inside TLS (CVE-2021-23214).
        if (this.reader.takeRest().length > 0)
          throw new ProtocolError('postgres', 'unencrypted bytes after SSLRequest');
        this.clientTls = true;
        this.ctx.toClient(SSL_ACCEPT);
        this.ctx.startClientTls();
        return;
      }
      case 'GSSENCRequest':
        this.ctx.toClient(ENCRYPTION_REFUSED);
        return;
      case 'CancelRequest':
        // The key is the target's (relayed in BackendKeyData): the ordinary session forwards it.
        this.phase = 'open';
        this.inner = createPostgresSession(this.ctx);
        this.inner.onClientData(Buffer.concat([raw, this.reader.takeRest()]));
        return;
      case 'StartupMessage':
        this.reader.setTyped();
        this.startup(msg.protocolVersion, msg.parameters);
        return;
      default:
        throw new ProtocolError('postgres', `unexpected ${msg.type} during sign-in`);
    }
  }

  private startup(protocolVersion: number, parameters: Readonly<Record<string, string>>): void {
    const user = parameters.user;
    this.protocolVersion = protocolVersion;
    this.parameters = parameters;
    const database = parameters.database;
    const application = parameters.application_name;
    this.ctx.setIdentity({
      ...(database === undefined ? {} : { database }),
      ...(application === undefined || application === '' ? {} : { application }),
    });
    if (user === undefined || user === '') {
      this.refuse(
        INVALID_AUTHORIZATION,
        'no PostgreSQL user name specified in startup packet',
        'no identity named',
        undefined,
      );
      return;
    }
    this.identityName = user;
    const cert = this.auth.certificate?.(user) ?? { kind: 'none' };
    if (cert.kind === 'refused') {
      this.refuse(INVALID_AUTHORIZATION, certificateFailed(user), cert.reason, user);
      return;
    }
    if (cert.kind === 'signed-in') {
      // The certificate alone signs this identity in: no password step (docs/identity.md).
      this.loginUpstream();
      return;
    }
    const stored = this.auth.scramVerifier(user);
    const verifier = stored === undefined ? null : parseScramVerifier(stored);
    const binding = this.channelBinding();
    if (stored !== undefined && verifier !== null) {
      this.scram = {
        server: new ScramServer(verifier, undefined, binding),
        verifier: stored,
        reason: '',
      };
    } else if (this.cleartextAllowed()) {
      this.phase = 'password';
      this.ctx.toClient(AUTH_CLEARTEXT);
      return;
    } else {
      // Same exchange as a real one, so a probe cannot tell which names exist.
      this.scram = {
        server: new ScramServer(mockScramVerifier(user), undefined, binding),
        verifier: null,
        reason:
          stored === undefined
            ? 'no scram_sha256 credential, and cleartext needs client TLS or loopback'
            : 'scram_sha256 credential unreadable',
      };
    }
    this.phase = 'sasl-first';
    this.ctx.toClient(authSasl(this.scram.server.mechanisms()));
  }

  /**
   * On a TLS client leg, `tls-server-end-point` data of the gateway's certificate, so that
   * SCRAM-SHA-256-PLUS is offered; null (plain leg, or a certificate whose signature names
   * no hash, like Ed25519) offers SCRAM-SHA-256 only.
   */
  private channelBinding(): ChannelBinding | null {
    if (!this.clientTls) return null;
    const der = this.auth.clientTls?.()?.ownCertificate;
    const data = der === undefined ? null : tlsServerEndPoint(der);
    return data === null ? null : { type: TLS_SERVER_END_POINT, data };
  }

  /** A cleartext token may cross only a TLS client leg or the loopback interface. */
  private cleartextAllowed(): boolean {
    if (this.clientTls) return true;
    const ip = this.ctx.facts().sourceIp;
    return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
  }

  private verifyCleartext(secret: string): void {
    this.phase = 'verifying';
    const user = this.identityName;
    void this.auth.signIn(user, secret).then((result) => {
      if (this.phase === 'closed') return;
      if (result.ok) this.loginUpstream();
      else this.refuse(INVALID_PASSWORD, passwordFailed(user), result.reason, user);
    });
  }

  private saslFirst(body: Buffer): void {
    const msg = new BufferReader(body, 'SASLInitialResponse');
    const mechanism = msg.cstring();
    const length = msg.int32();
    const data = length < 0 ? '' : msg.bytes(length).toString('utf8');
    msg.end();
    const scram = this.scram;
    if (scram === null) throw new ProtocolError('postgres', 'SASL response without SASL');
    if (!scram.server.mechanisms().includes(mechanism)) {
      this.refuse(
        INVALID_AUTHORIZATION,
        'client selected an invalid SASL authentication mechanism',
        `SASL mechanism ${mechanism}`,
        this.identityName,
      );
      return;
    }
    const step = scram.server.firstMessage(data, mechanism);
    if (!step.ok) {
      this.refuse(SqlState.ProtocolViolation, step.reason, step.reason, this.identityName);
      return;
    }
    this.phase = 'sasl-final';
    this.ctx.toClient(authSaslData(AuthCode.SASLContinue, step.message));
  }

  private saslFinal(clientFinal: string): void {
    const scram = this.scram;
    if (scram === null) throw new ProtocolError('postgres', 'SASL response without SASL');
    const user = this.identityName;
    const step: ScramStep = scram.server.finalMessage(clientFinal);
    const stored = scram.verifier;
    if (stored === null || !step.ok) {
      const reason = stored === null ? scram.reason : step.ok ? '' : step.reason;
      this.refuse(INVALID_PASSWORD, passwordFailed(user), reason, user);
      return;
    }
    const result = this.auth.signInScram(user, (v) => v === stored);
    if (!result.ok) {
      this.refuse(INVALID_PASSWORD, passwordFailed(user), result.reason, user);
      return;
    }
    this.ctx.toClient(authSaslData(AuthCode.SASLFinal, step.message));
    this.loginUpstream();
  }

  /** Refuses the sign-in natively (FATAL, as PostgreSQL does) and records why. */
  private refuse(
    sqlstate: string,
    message: string,
    reason: string,
    user: string | undefined,
  ): void {
    this.phase = 'closed';
    this.ctx.record(signInFailure(this.parameters.database, user, reason, sqlstate, message));
    this.ctx.toClient(errorResponse('FATAL', sqlstate, message));
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
    const upstreamUser = creds.user ?? this.identityName;
    this.phase = 'upstream';
    this.login = new UpstreamLogin(upstreamUser, creds.password, {
      toUpstream: (bytes) => this.ctx.toUpstream(bytes),
      done: (rest) => this.open(rest),
      failed: (reason, error) => this.failTarget(reason, error),
    });
    // The ordinary session sees (and forwards) a startup packet naming the mapped user, so
    // db.user and policy's database facts are the target's while user.* stays the identity.
    this.inner = createPostgresSession(this.ctx);
    this.inner.onClientData(
      startupMessage(this.protocolVersion, { ...this.parameters, user: upstreamUser }),
    );
  }

  private open(rest: Buffer): void {
    this.phase = 'open';
    const inner = this.inner;
    if (inner === null) return;
    inner.onServerData(rest);
    for (const b of this.backlog.take()) if (this.phase === 'open') inner.onClientData(b);
  }

  private failTarget(reason: string, error?: ErrorFields): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    const detail = error === undefined ? reason : `${reason}: ${error.message}`;
    this.ctx.record(targetFailure(this.parameters.database, detail, error));
    this.ctx.toClient(
      errorResponse('FATAL', INVALID_AUTHORIZATION, 'portwarden could not sign in to the target'),
    );
    this.ctx.close('upstream-unreachable', `target sign-in failed: ${detail}`);
  }

  private protocolFailure(detail: string): void {
    this.phase = 'closed';
    this.ctx.toClient(errorResponse('FATAL', SqlState.ProtocolViolation, detail));
    this.ctx.close('protocol-error', `client: ${detail}`);
  }
}

function passwordFailed(user: string): string {
  return `password authentication failed for user "${user}"`;
}

function certificateFailed(user: string): string {
  return `certificate authentication failed for user "${user}"`;
}

/** A refused gateway sign-in: the name tried and why, never the secret. */
function signInFailure(
  database: string | undefined,
  user: string | undefined,
  reason: string,
  sqlstate: string,
  message: string,
): EventInput {
  const base = loginRecord(database === undefined ? {} : { database }, 'failure', undefined, {
    severity: 'FATAL',
    sqlstate,
    message,
  });
  return {
    ...base,
    event: { ...base.event, type: ['start', 'denied'], reason },
    ...(user === undefined ? {} : { user: { name: user } }),
  };
}

/** The target refused the gateway's own login (the identity had signed in). */
function targetFailure(
  database: string | undefined,
  detail: string,
  error: ErrorFields | undefined,
): EventInput {
  const base = loginRecord(database === undefined ? {} : { database }, 'failure', undefined, error);
  return { ...base, event: { ...base.event, reason: `target sign-in failed: ${detail}` } };
}

/** PostgreSQL session for a listener: gateway sign-in when the listener has `auth: gateway`. */
export function createPostgresListenerSession(ctx: SessionContext): ProtocolSession {
  return ctx.gatewayAuth
    ? new PostgresGatewayAuthSession(ctx, ctx.gatewayAuth)
    : createPostgresSession(ctx);
}
