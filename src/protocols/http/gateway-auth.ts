/**
 * HTTP behind listener `auth: gateway`: every request must carry `Authorization: Bearer
 * <token or JWT>`, which the gateway verifies; the request then goes to the target with the
 * client's Authorization removed and the listener's `upstream_header` added. A request that
 * fails is answered 401 by us, in its place in the pipeline. Verification is asynchronous
 * (JWT signatures), so messages behind a request being checked wait, in order. Over client
 * TLS, a certificate from the listener's CA naming a certificate-only identity signs every
 * request in without a bearer (mTLS); naming an identity with a token, the bearer must be
 * that identity's; an untrusted certificate fails every request.
 */
import type { UpstreamCredentials } from '../../identity/index.js';
import type { GatewayAuth } from '../session.js';
import type { HttpHeader, RequestHead, RequestMessage } from './messages.js';

export type SignInVerdict =
  | { readonly ok: true; readonly head: RequestHead }
  | { readonly ok: false; readonly reason: string };

/** Holds the client's messages while one request's credential is verified. */
export class HttpSignInGate {
  private readonly auth: GatewayAuth;
  private readonly onVerdict: (head: RequestHead, verdict: SignInVerdict) => void;
  private readonly replay: (m: RequestMessage) => void;
  private held: RequestMessage[] = [];
  private busy = false;

  constructor(
    auth: GatewayAuth,
    onVerdict: (head: RequestHead, verdict: SignInVerdict) => void,
    replay: (m: RequestMessage) => void,
  ) {
    this.auth = auth;
    this.onVerdict = onVerdict;
    this.replay = replay;
  }

  /** True when the gate took the message (held, or a head now being verified). */
  offer(m: RequestMessage): boolean {
    if (this.busy) {
      this.held.push(m);
      return true;
    }
    if (m.type !== 'request-head') return false;
    const head = m.head;
    const cert = this.auth.certificate?.(undefined) ?? { kind: 'none' };
    if (cert.kind === 'refused') {
      this.onVerdict(head, { ok: false, reason: cert.reason });
      return true;
    }
    if (cert.kind === 'signed-in') {
      this.admit(head);
      return true;
    }
    const secret = bearerToken(head.headers);
    if (secret === undefined) {
      this.onVerdict(head, { ok: false, reason: 'no bearer credential' });
      return true;
    }
    this.busy = true;
    void this.auth.signIn(undefined, secret).then((result) => {
      this.busy = false;
      if (result.ok) this.admit(head);
      else this.onVerdict(head, { ok: false, reason: result.reason });
      this.release();
    });
    return true;
  }

  /** A signed-in request goes on with the target's header in place of Authorization. */
  private admit(head: RequestHead): void {
    let creds: UpstreamCredentials;
    try {
      creds = this.auth.upstreamCredentials();
    } catch {
      this.onVerdict(head, { ok: false, reason: 'target credentials unavailable' });
      return;
    }
    this.onVerdict(head, { ok: true, head: replaceAuthorization(head, creds.header) });
  }

  private release(): void {
    while (!this.busy && this.held.length > 0) {
      const m = this.held.shift();
      if (m !== undefined) this.replay(m);
    }
  }
}

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), if that is what was sent. */
export function bearerToken(headers: readonly HttpHeader[]): string | undefined {
  const values = headers.filter((h) => h.name === 'authorization');
  if (values.length !== 1) return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(values[0]?.value ?? '');
  return m?.[1];
}

/**
 * The head without any Authorization field, with the target's header (if configured) added
 * before the empty line. Offsets of the kept fields are recomputed for the new bytes.
 */
export function replaceAuthorization(
  head: RequestHead,
  add: { readonly name: string; readonly value: string } | undefined,
): RequestHead {
  const raw = head.raw;
  const parts: Buffer[] = [raw.subarray(0, head.fieldsStart)];
  const headers: HttpHeader[] = [];
  let at = head.fieldsStart;
  for (const h of head.headers) {
    if (h.name === 'authorization') continue;
    const line = raw.subarray(h.lineStart, h.lineEnd);
    headers.push({ ...h, lineStart: at, lineEnd: at + line.length });
    parts.push(line);
    at += line.length;
  }
  if (add !== undefined) {
    const line = Buffer.from(`${add.name}: ${safeHeaderValue(add.value)}\r\n`, 'latin1');
    headers.push({
      name: add.name.toLowerCase(),
      value: add.value,
      lineStart: at,
      lineEnd: at + line.length,
    });
    parts.push(line);
  }
  parts.push(Buffer.from('\r\n'));
  return { ...head, raw: Buffer.concat(parts), headers };
}

function safeHeaderValue(value: string): string {
  return value.replace(/[\r\n]/g, '');
}

/** 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3); the reason, never the credential. */
export function serializeUnauthorized(
  reason: string,
  options: { close: boolean; head: boolean },
): Buffer {
  const payload = Buffer.from(JSON.stringify({ error: 'unauthorized', reason }), 'utf8');
  const head =
    'HTTP/1.1 401 Unauthorized\r\n' +
    'WWW-Authenticate: Bearer realm="portwarden"\r\n' +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${payload.length}\r\n` +
    'Cache-Control: no-store\r\n' +
    `Connection: ${options.close ? 'close' : 'keep-alive'}\r\n\r\n`;
  const bytes = Buffer.from(head, 'latin1');
  return options.head ? bytes : Buffer.concat([bytes, payload]);
}
