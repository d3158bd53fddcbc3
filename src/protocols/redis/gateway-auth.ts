/**
 * Redis behind listener `auth: gateway`. The client signs in to portwarden with
 * `AUTH <identity> <token>` (or `HELLO <v> AUTH …`); the gateway checks it and never
 * forwards it. The gateway itself signs in to Redis with the listener's ACL user before the
 * first client byte passes, and swallows that reply. Until the client has signed in, every
 * other command is answered `-NOAUTH` natively (as Redis does with `requirepass`).
 * After sign-in, the ordinary Redis session takes over (with AUTH and HELLO … AUTH refused).
 * On a TLS client leg, a certificate from the listener's CA naming a certificate-only identity
 * signs the connection in before its first command (mTLS); an untrusted one ends it.
 */
import { ProtocolError, errorMessage } from '../../errors.js';
import type { EventInput } from '../../audit/event.js';
import { BACKLOG_EXCEEDED, SignInBacklog } from '../sign-in-backlog.js';
import type { GatewayAuth, ProtocolSession, SessionContext } from '../session.js';
import type { CommandHead } from './messages.js';
import { RespParser } from './resp-parser.js';
import { createRedisSession } from './session.js';

const SIGN_IN_MAX_BYTES = 64 * 1024;
/** Enough arguments for `HELLO 3 AUTH user pass SETNAME name`. */
const SIGN_IN_ARGS = 8;
/** A JWT can be a few KiB; tokens longer than this are refused anyway. */
const SIGN_IN_ARG_BYTES = 16 * 1024;

const NOAUTH = Buffer.from('-NOAUTH Authentication required.\r\n');
const NOAUTH_HELLO = Buffer.from(
  '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n',
);
// The reply Redis gives a failed AUTH (acl.c, addAuthErrReply).
const WRONGPASS = Buffer.from('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
const OK = Buffer.from('+OK\r\n');
const TARGET_REFUSED = Buffer.from('-ERR portwarden could not sign in to the target\r\n');
const CERTIFICATE_REFUSED = Buffer.from('-WRONGPASS client certificate refused\r\n');

type Phase = 'signing-in' | 'verifying' | 'open' | 'closed';

class RedisGatewayAuthSession implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly auth: GatewayAuth;
  private readonly inner: ProtocolSession;
  private phase: Phase = 'signing-in';
  private commands: RespParser;
  private head: CommandHead | undefined;
  /** Client bytes that arrived while a sign-in was being verified. */
  private readonly backlog = new SignInBacklog();
  /** The upstream reply to the gateway's own AUTH is still due. */
  private upstreamLogin: RespParser | null = null;
  private upstreamFailed = false;
  /** Where the login reply ended in the chunk being read (-1: not in this chunk). */
  private loginEnd = -1;
  private chunk: Buffer = Buffer.alloc(0);
  /** The client certificate was looked at (on the first client bytes, after any TLS). */
  private certificateChecked = false;

  constructor(ctx: SessionContext, auth: GatewayAuth) {
    this.ctx = ctx;
    this.auth = auth;
    this.commands = this.newParser();
    this.inner = createRedisSession(ctx, refuseSecondSignIn);
    this.loginUpstream();
  }

  private newParser(): RespParser {
    return new RespParser(
      {
        mode: 'command',
        maxBulkBytes: SIGN_IN_MAX_BYTES,
        captureArgs: SIGN_IN_ARGS,
        captureBytes: SIGN_IN_ARG_BYTES,
      },
      {
        commandHead: (head) => {
          this.head = head;
        },
        commandEnd: (at) => this.onCommandEnd(at),
        reply: () => undefined,
      },
    );
  }

  /** AUTH with the listener's ACL user, sent before any client byte. */
  private loginUpstream(): void {
    let creds;
    try {
      creds = this.auth.upstreamCredentials();
    } catch (err) {
      this.failTarget(errorMessage(err));
      return;
    }
    if (creds.password === undefined) return;
    const args =
      creds.user === undefined ? ['AUTH', creds.password] : ['AUTH', creds.user, creds.password];
    const login = new RespParser(
      { mode: 'reply', maxBulkBytes: SIGN_IN_MAX_BYTES },
      {
        commandHead: () => undefined,
        commandEnd: () => undefined,
        reply: (reply, at) => {
          if (this.upstreamLogin === null) return;
          this.upstreamLogin = null;
          this.loginEnd = at;
          if (reply.type === 'error' || reply.type === 'bulk-error') {
            this.upstreamFailed = true;
            this.failTarget(`target refused the gateway's credentials: ${reply.text ?? ''}`);
          }
        },
      },
    );
    login.resp3 = true;
    this.upstreamLogin = login;
    this.ctx.toUpstream(encodeCommand(args));
  }

  private failTarget(detail: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.ctx.record(loginRecord('failure', 'target sign-in failed', undefined));
    this.ctx.toClient(TARGET_REFUSED);
    this.ctx.close('upstream-unreachable', detail);
  }

  onClientData(chunk: Buffer): void {
    switch (this.phase) {
      case 'open':
        this.inner.onClientData(chunk);
        return;
      case 'verifying':
        if (!this.backlog.push(chunk)) this.backlogExceeded();
        return;
      case 'closed':
        return;
      case 'signing-in':
        if (!this.certificateChecked && this.signedInByCertificate(chunk)) return;
        this.readSignIn(chunk);
        return;
      default: {
        const never: never = this.phase;
        return never;
      }
    }
  }

  /**
   * mTLS: the first client bytes arrive after the TLS handshake, so the certificate is known.
   * True when it decided the connection (signed in and handed over, or refused and closed).
   */
  private signedInByCertificate(chunk: Buffer): boolean {
    this.certificateChecked = true;
    const cert = this.auth.certificate?.(undefined) ?? { kind: 'none' };
    if (cert.kind === 'refused') {
      this.phase = 'closed';
      this.ctx.record(loginRecord('failure', cert.reason, undefined));
      this.ctx.toClient(CERTIFICATE_REFUSED);
      this.ctx.close('policy', `gateway sign-in refused: ${cert.reason}`);
      return true;
    }
    if (cert.kind !== 'signed-in') return false;
    this.ctx.record(loginRecord('success', undefined, cert.result.principal.name));
    this.phase = 'open';
    this.inner.onClientData(chunk);
    return true;
  }

  private readSignIn(chunk: Buffer): void {
    this.chunk = chunk;
    try {
      this.commands.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.phase = 'closed';
      this.ctx.toClient(
        Buffer.from(`-ERR Protocol error: ${err.detail.replace(/\p{Cc}/gu, '?')}\r\n`),
      );
      this.ctx.close('protocol-error', `client: ${err.detail}`);
    }
  }

  private onCommandEnd(at: number): void {
    if (this.phase !== 'signing-in') return;
    const head = this.head;
    this.head = undefined;
    if (head === undefined) return;
    const arg = (i: number): string | undefined => head.args[i]?.toString('utf8');
    const name = (arg(0) ?? '').toLowerCase();
    if (name === 'auth' && (head.argc === 2 || head.argc === 3)) {
      const user = head.argc === 3 ? arg(1) : undefined;
      const secret = arg(head.argc - 1) ?? '';
      this.verify(user, secret, null, at);
    } else if (name === 'hello') {
      const authAt = head.args.findIndex(
        (a, i) => i >= 2 && a.toString('latin1').toLowerCase() === 'auth',
      );
      if (authAt < 0) {
        this.ctx.toClient(NOAUTH_HELLO);
        return;
      }
      const user = arg(authAt + 1);
      const secret = arg(authAt + 2) ?? '';
      // HELLO goes on to Redis without its AUTH part: the gateway is already signed in there.
      const rest = head.args
        .filter((_, i) => i < authAt || i > authAt + 2)
        .map((a) => a.toString('utf8'));
      this.verify(user, secret, encodeCommand(rest), at);
    } else if (name === 'quit') {
      this.phase = 'closed';
      this.ctx.toClient(OK);
      this.ctx.close('client-close');
    } else {
      this.ctx.toClient(NOAUTH);
    }
  }

  private verify(user: string | undefined, secret: string, hello: Buffer | null, at: number): void {
    this.phase = 'verifying';
    if (at < this.chunk.length && !this.backlog.push(this.chunk.subarray(at))) {
      this.backlogExceeded();
      return;
    }
    void this.auth.signIn(user, secret).then((result) => {
      if (this.phase === 'closed') return;
      if (!result.ok) {
        this.ctx.record(loginRecord('failure', result.reason, user));
        this.ctx.toClient(WRONGPASS);
        this.phase = 'signing-in';
        this.commands = this.newParser();
        this.replayBacklog();
        return;
      }
      this.ctx.record(loginRecord('success', undefined, result.principal.name));
      this.phase = 'open';
      if (hello) this.inner.onClientData(hello);
      else this.ctx.toClient(OK);
      this.replayBacklog();
    });
  }

  private replayBacklog(): void {
    for (const b of this.backlog.take()) this.onClientData(b);
  }

  private backlogExceeded(): void {
    this.phase = 'closed';
    this.ctx.toClient(Buffer.from(`-ERR Protocol error: ${BACKLOG_EXCEEDED}\r\n`));
    this.ctx.close('protocol-error', `client: ${BACKLOG_EXCEEDED}`);
  }

  onServerData(chunk: Buffer): void {
    const login = this.upstreamLogin;
    if (login === null) {
      if (!this.upstreamFailed) this.inner.onServerData(chunk);
      return;
    }
    this.loginEnd = -1;
    try {
      login.push(chunk);
    } catch (err) {
      // Only the login reply matters here; what follows it is the inner session's to judge.
      if (this.loginEnd < 0) {
        this.upstreamLogin = null;
        this.failTarget(`target: ${errorMessage(err)}`);
        return;
      }
    }
    if (this.upstreamFailed || this.loginEnd < 0) return;
    const rest = chunk.subarray(this.loginEnd);
    if (rest.length > 0) this.inner.onServerData(rest);
  }

  onClose(): void {
    this.inner.onClose?.();
  }
}

/**
 * Once signed in, AUTH or HELLO … AUTH would carry a portwarden token to the target: both
 * are refused natively (NOPERM) and never forwarded. HELLO without AUTH passes.
 */
export function refuseSecondSignIn(command: string, head: CommandHead): string | undefined {
  if (command === 'auth') return 'AUTH after gateway sign-in';
  if (command !== 'hello') return undefined;
  // Every HELLO argument is captured (commands.ts STATE_ARGS); should one be missing, refuse.
  if (head.args.length < head.argc) return 'HELLO with uncaptured arguments after gateway sign-in';
  const hasAuth = head.args.some((a, i) => i >= 2 && a.toString('latin1').toLowerCase() === 'auth');
  return hasAuth ? 'HELLO AUTH after gateway sign-in' : undefined;
}

function loginRecord(
  outcome: 'success' | 'failure',
  reason: string | undefined,
  user: string | undefined,
): EventInput {
  return {
    event: {
      action: 'db-login',
      category: ['authentication', 'database'],
      type: ['start', outcome === 'success' ? 'allowed' : 'denied'],
      outcome,
      ...(reason === undefined ? {} : { reason }),
    },
    ...(outcome === 'failure' && user !== undefined ? { user: { name: user } } : {}),
  };
}

/** A command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Redis session for a listener: with gateway sign-in when the listener has `auth: gateway`. */
export function createRedisListenerSession(ctx: SessionContext): ProtocolSession {
  return ctx.gatewayAuth
    ? new RedisGatewayAuthSession(ctx, ctx.gatewayAuth)
    : createRedisSession(ctx);
}
