/**
 * SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), both sides, as PostgreSQL uses it
 * (protocol-flow §53.3.1 "SASL Authentication"): the gateway is the server toward a client
 * signing in as a portwarden identity, and the client toward the target database.
 *
 * PostgreSQL ignores the SCRAM user name (`n=`, the startup packet names the user) and
 * stores a verifier as `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
 * (base64 parts), the format `scram_sha256` identity credentials use too. Passwords are used
 * as their UTF-8 bytes (SASLprep is the identity for printable ASCII, which tokens are).
 */
import {
  createHash,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
  type BinaryLike,
} from 'node:crypto';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
/** SCRAM-SHA-256 bound to the TLS channel (RFC 5802 §6, `tls-server-end-point`). */
export const SCRAM_PLUS_MECHANISM = 'SCRAM-SHA-256-PLUS';
/** PostgreSQL's default iteration count (scram_iterations). */
export const SCRAM_DEFAULT_ITERATIONS = 4096;
/** Refuse work factors beyond this from a server (a hostile target could stall us). */
const MAX_ITERATIONS = 1_000_000;
const KEY_BYTES = 32;

/** What a server stores instead of the password (RFC 5802 §3). */
export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

const hmac = (key: BinaryLike, text: string | Buffer): Buffer =>
  createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** SaltedPassword := Hi(Normalize(password), salt, i) — PBKDF2 with HMAC-SHA-256. */
export function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, KEY_BYTES, 'sha256');
}

/** The verifier for a password (a fresh 16-byte salt unless one is given). */
export function scramVerifierFor(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_DEFAULT_ITERATIONS,
): ScramVerifier {
  const salted = saltedPassword(password, salt, iterations);
  return {
    iterations,
    salt,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as in pg_authid. */
export function formatScramVerifier(v: ScramVerifier): string {
  const b64 = (b: Buffer): string => b.toString('base64');
  return `${SCRAM_MECHANISM}$${v.iterations}:${b64(v.salt)}$${b64(v.storedKey)}:${b64(v.serverKey)}`;
}

const VERIFIER_RE =
  /^SCRAM-SHA-256\$([1-9][0-9]{0,6}):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]{43}=):([A-Za-z0-9+/]{43}=)$/;

/** Parses the pg_authid verifier format; null when it is not one. */
export function parseScramVerifier(text: string): ScramVerifier | null {
  const m = VERIFIER_RE.exec(text);
  if (m === null) return null;
  const [, iterations, salt, storedKey, serverKey] = m;
  if (iterations === undefined || salt === undefined || storedKey === undefined) return null;
  if (serverKey === undefined) return null;
  return {
    iterations: Number(iterations),
    salt: Buffer.from(salt, 'base64'),
    storedKey: Buffer.from(storedKey, 'base64'),
    serverKey: Buffer.from(serverKey, 'base64'),
  };
}

/** `a=1,b=2` → attributes (RFC 5802 §5.1); values may contain `=`. Null on malformed input. */
export function parseScramAttributes(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.length < 2 || part[1] !== '=') return null;
    out.set(part.slice(0, 1), part.slice(2));
  }
  return out;
}

/** A printable nonce without `,` (RFC 5802 §7, c-nonce). */
export function scramNonce(): string {
  return randomBytes(18).toString('base64');
}

/** Outcome of a step of the exchange. */
export type ScramStep =
  { readonly ok: true; readonly message: string } | { readonly ok: false; readonly reason: string };

/** Client side, toward a target that asked for SCRAM-SHA-256. */
export class ScramClient {
  private readonly nonce: string;
  private readonly password: string;
  private readonly binding: ChannelBinding | null;
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | null = null;

  /** With `binding`, the client runs SCRAM-SHA-256-PLUS bound to that data. */
  constructor(
    password: string,
    nonce: string = scramNonce(),
    user = '',
    binding: ChannelBinding | null = null,
  ) {
    this.password = password;
    this.nonce = nonce;
    this.binding = binding;
    this.clientFirstBare = `n=${user},r=${nonce}`;
  }

  private gs2Header(): string {
    return this.binding === null ? 'n,,' : `p=${this.binding.type},,`;
  }

  /** client-first-message: no channel binding (`n,,`) unless constructed with one. */
  firstMessage(): string {
    return `${this.gs2Header()}${this.clientFirstBare}`;
  }

  /** client-final-message for the server-first-message. */
  finalMessage(serverFirst: string): ScramStep {
    const attrs = parseScramAttributes(serverFirst);
    const nonce = attrs?.get('r');
    const salt = attrs?.get('s');
    const iterations = Number(attrs?.get('i'));
    if (nonce === undefined || salt === undefined || !Number.isInteger(iterations))
      return { ok: false, reason: 'malformed server-first-message' };
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length)
      return { ok: false, reason: 'server nonce does not extend ours' };
    if (iterations < 1 || iterations > MAX_ITERATIONS)
      return { ok: false, reason: `iteration count ${iterations} out of range` };
    const salted = saltedPassword(this.password, Buffer.from(salt, 'base64'), iterations);
    const clientKey = hmac(salted, 'Client Key');
    const cbind = Buffer.concat([
      Buffer.from(this.gs2Header()),
      this.binding?.data ?? Buffer.alloc(0),
    ]);
    const withoutProof = `c=${cbind.toString('base64')},r=${nonce}`; // c=biws: base64("n,,")
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return { ok: true, message: `${withoutProof},p=${proof.toString('base64')}` };
  }

  /** Checks the server-final-message's signature: the server knew the verifier. */
  verifyServerFinal(serverFinal: string): ScramStep {
    const attrs = parseScramAttributes(serverFinal);
    const error = attrs?.get('e');
    if (error !== undefined) return { ok: false, reason: `server: ${error}` };
    const v = attrs?.get('v');
    const expected = this.expectedServerSignature;
    if (v === undefined || expected === null) return { ok: false, reason: 'no server signature' };
    const got = Buffer.from(v, 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected))
      return { ok: false, reason: 'server signature does not match' };
    return { ok: true, message: '' };
  }
}

/** Channel binding the server offers: `tls-server-end-point` data of its certificate. */
export interface ChannelBinding {
  readonly type: 'tls-server-end-point';
  readonly data: Buffer;
}

/** Server side, toward a client signing in with a stored verifier. */
export class ScramServer {
  private readonly verifier: ScramVerifier;
  private readonly serverNonce: string;
  /** Offered (SCRAM-SHA-256-PLUS advertised) when not null. */
  private readonly binding: ChannelBinding | null;
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  /** The binding data the client's `c=` must carry after the gs2 header. */
  private boundData: Buffer = Buffer.alloc(0);
  private nonce = '';

  constructor(
    verifier: ScramVerifier,
    serverNonce: string = scramNonce(),
    binding: ChannelBinding | null = null,
  ) {
    this.verifier = verifier;
    this.serverNonce = serverNonce;
    this.binding = binding;
  }

  /** The mechanisms to advertise: the channel-bound one first when binding is offered. */
  mechanisms(): string[] {
    return this.binding === null ? [SCRAM_MECHANISM] : [SCRAM_PLUS_MECHANISM, SCRAM_MECHANISM];
  }

  /**
   * client-first-message → server-first-message. `mechanism` is what the client selected;
   * its gs2 flag must agree with it (RFC 5802 §6): `p=` only with -PLUS, and `y` ("I could
   * bind, you did not offer it") is a downgrade when the server did offer it.
   */
  firstMessage(clientFirst: string, mechanism: string = SCRAM_MECHANISM): ScramStep {
    // gs2-header: cbind flag, authzid, then the bare message (RFC 5802 §7).
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(clientFirst);
    if (m === null) return { ok: false, reason: 'malformed client-first-message' };
    const [, flag, authzid, bare] = m;
    if (flag === undefined || bare === undefined)
      return { ok: false, reason: 'malformed client-first-message' };
    if (mechanism === SCRAM_PLUS_MECHANISM) {
      if (this.binding === null)
        return { ok: false, reason: 'SCRAM-SHA-256-PLUS selected but not offered' };
      if (!flag.startsWith('p='))
        return { ok: false, reason: 'SCRAM-SHA-256-PLUS selected without channel binding' };
      if (flag !== `p=${this.binding.type}`)
        return { ok: false, reason: `unsupported channel binding type ${flag.slice(2, 40)}` };
      this.boundData = this.binding.data;
    } else if (mechanism !== SCRAM_MECHANISM) {
      return { ok: false, reason: 'unknown SASL mechanism' };
    } else if (flag.startsWith('p=')) {
      return { ok: false, reason: 'channel binding requested without SCRAM-SHA-256-PLUS' };
    } else if (flag === 'y' && this.binding !== null) {
      return { ok: false, reason: 'channel binding negotiation error (downgrade)' };
    }
    if (authzid !== undefined) return { ok: false, reason: 'authorization identity not supported' };
    const attrs = parseScramAttributes(bare);
    const nonce = attrs?.get('r');
    if (attrs === null || !attrs.has('n') || nonce === undefined || nonce.length === 0)
      return { ok: false, reason: 'malformed client-first-message' };
    if (attrs.has('m')) return { ok: false, reason: 'unsupported mandatory extension' };
    this.gs2Header = `${flag},,`;
    this.clientFirstBare = bare;
    this.nonce = nonce + this.serverNonce;
    const v = this.verifier;
    this.serverFirst = `r=${this.nonce},s=${v.salt.toString('base64')},i=${v.iterations}`;
    return { ok: true, message: this.serverFirst };
  }

  /** client-final-message → server-final-message when the proof is right. */
  finalMessage(clientFinal: string): ScramStep {
    const at = clientFinal.lastIndexOf(',p=');
    if (at < 0) return { ok: false, reason: 'malformed client-final-message' };
    const withoutProof = clientFinal.slice(0, at);
    const attrs = parseScramAttributes(withoutProof);
    if (attrs === null) return { ok: false, reason: 'malformed client-final-message' };
    const binding = Buffer.concat([Buffer.from(this.gs2Header), this.boundData]);
    if (attrs.get('c') !== binding.toString('base64'))
      return { ok: false, reason: 'channel binding does not match' };
    if (attrs.get('r') !== this.nonce) return { ok: false, reason: 'nonce does not match' };
    const proof = Buffer.from(clientFinal.slice(at + 3), 'base64');
    if (proof.length !== KEY_BYTES) return { ok: false, reason: 'malformed proof' };
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, hmac(this.verifier.storedKey, authMessage));
    if (!timingSafeEqual(sha256(clientKey), this.verifier.storedKey))
      return { ok: false, reason: 'wrong token' };
    const signature = hmac(this.verifier.serverKey, authMessage);
    return { ok: true, message: `v=${signature.toString('base64')}` };
  }
}

/**
 * A stand-in verifier for a user with none, so an unknown name costs and looks the same as
 * a known one (PostgreSQL's scram_mock_salt): its salt is stable per name and process.
 */
const MOCK_KEY = randomBytes(32);
export function mockScramVerifier(user: string): ScramVerifier {
  const salt = hmac(MOCK_KEY, `salt:${user}`).subarray(0, 16);
  return {
    iterations: SCRAM_DEFAULT_ITERATIONS,
    salt,
    storedKey: hmac(MOCK_KEY, `stored:${user}`),
    serverKey: hmac(MOCK_KEY, `server:${user}`),
  };
}
