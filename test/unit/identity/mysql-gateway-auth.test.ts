/**
 * The MySQL gateway sign-in against a recording context, with builder-made packets (the
 * builders below, not the production serializer; protocol_connection_phase_packets): the
 * client's greeting is the target's retold with the gateway's own scramble; the cleartext
 * token is asked for only over TLS or loopback; the gateway's login toward the target proves
 * the password with mysql_native_password (checked here the way the server checks it) or
 * caching_sha2_password, follows an AuthSwitchRequest, and the client's OK carries the client's
 * next sequence id. Refusals are ERR 1045 and records without the token.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EventInput, JsonObject, JsonValue } from '../../../src/audit/event.js';
import type { SignInResult } from '../../../src/identity/index.js';
import { createMysqlListenerSession } from '../../../src/protocols/mysql/index.js';
import { cachingSha2Proof } from '../../../src/protocols/mysql/scramble.js';
import type {
  GatewayAuth,
  ProtocolSession,
  SessionContext,
} from '../../../src/protocols/session.js';
import { until as untilWithin } from '../../helpers/wait.js';

const TOKEN = 'tok-dave-0123456789';
const UPSTREAM_PASS = 'upstream-secret';
const SERVER_NONCE = Buffer.from('abcdefghijklmnopqrst');

// ---- builders (spec: protocol_connection_phase_packets) ------------------------------

const CLIENT_CAPS = 0x1 | 0x8 | 0x200 | 0x8000 | 0x80000 | 0x100000 | 0x200000 | 0x1000000 | 0x20; // incl. COMPRESS
const SERVER_CAPS = 0x8 | 0x20 | 0x200 | 0x800 | 0x2000 | 0x8000 | 0x80000 | 0x100000 | 0x1000000;

function pkt(seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUIntLE(payload.length, 0, 3);
  head[3] = seq;
  return Buffer.concat([head, payload]);
}
const z = (s: string): Buffer => Buffer.from(`${s}\0`);

function serverGreeting(plugin = 'mysql_native_password'): Buffer {
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
  fixed.writeUInt32LE(77, 0); // connection id
  SERVER_NONCE.copy(fixed, 4, 0, 8);
  fixed.writeUInt16LE(SERVER_CAPS & 0xffff, 13);
  fixed[15] = 45; // utf8mb4_general_ci
  fixed.writeUInt16LE(2, 16); // autocommit
  fixed.writeUInt16LE(SERVER_CAPS >>> 16, 18);
  fixed[20] = 21;
  const payload = Buffer.concat([
    Buffer.from([10]),
    z('5.5.5-10.11.6-MariaDB'),
    fixed,
    SERVER_NONCE.subarray(8),
    Buffer.from([0]),
    z(plugin),
  ]);
  return pkt(0, payload);
}

function handshakeResponse(seq: number, user: string, plugin: string, auth: Buffer): Buffer {
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(CLIENT_CAPS >>> 0, 0);
  fixed.writeUInt32LE(16 * 1024 * 1024, 4);
  fixed[8] = 45;
  // Connection attributes: a length-prefixed block of length-prefixed key/value strings.
  const pair = Buffer.concat([
    Buffer.from([12]),
    Buffer.from('program_name'),
    Buffer.from([5]),
    Buffer.from('mysql'),
  ]);
  const attrs = Buffer.concat([Buffer.from([pair.length]), pair]);
  return pkt(
    seq,
    Buffer.concat([
      fixed,
      z(user),
      Buffer.from([auth.length]),
      auth,
      z('orders'),
      z(plugin),
      attrs,
    ]),
  );
}

const ok = (seq: number): Buffer => pkt(seq, Buffer.from([0, 0, 0, 2, 0, 0, 0]));
const authSwitch = (seq: number, plugin: string, data: Buffer): Buffer =>
  pkt(seq, Buffer.concat([Buffer.from([0xfe]), z(plugin), data]));
const moreData = (seq: number, status: number): Buffer => pkt(seq, Buffer.from([1, status]));

// ---- a recording context ---------------------------------------------------------------

interface Recorded {
  readonly ctx: SessionContext;
  readonly records: EventInput[];
  readonly client: Buffer[];
  readonly upstream: Buffer[];
  readonly closed: string[];
  readonly identity: JsonObject;
}

const auth: GatewayAuth = {
  signIn: (user, secret): Promise<SignInResult> =>
    Promise.resolve(
      user === 'dave' && secret === TOKEN
        ? { ok: true, principal: { name: 'dave', kind: 'person', groups: [], method: 'token' } }
        : { ok: false, reason: 'wrong token' },
    ),
  upstreamCredentials: () => ({ user: 'app', password: UPSTREAM_PASS }),
  scramVerifier: () => undefined,
  signInScram: () => ({ ok: false, reason: 'no verifier' }),
};

function start(
  sourceIp: string,
  tls = false,
  gatewayAuth: GatewayAuth = auth,
): { r: Recorded; session: ProtocolSession } {
  const records: EventInput[] = [];
  const client: Buffer[] = [];
  const upstream: Buffer[] = [];
  const closed: string[] = [];
  const identity: JsonObject = {};
  const ctx: SessionContext = {
    connectionId: 'c1',
    options: { listener: 'my-test', maxMessageBytes: 1 << 24, recordValues: false, extra: {} },
    record: (input) => {
      records.push(input);
      return `e${records.length}`;
    },
    toUpstream: (b) => upstream.push(Buffer.from(b)),
    toClient: (b) => client.push(Buffer.from(b)),
    facts: () => ({ listener: 'my-test', sourceIp, sourcePort: 50000 }),
    setIdentity: (id) => Object.assign(identity, id),
    annotate: () => undefined,
    decide: () => ({ verdict: 'allow', reason: 'test' }),
    close: (reason, detail) => closed.push(`${reason}: ${detail ?? ''}`),
    now: () => 0n,
    gatewayAuth,
    ...(tls ? { startClientTls: () => undefined } : {}),
  };
  return {
    r: { ctx, records, client, upstream, closed, identity },
    session: createMysqlListenerSession(ctx),
  };
}

function get(o: JsonValue | undefined, path: string): JsonValue | undefined {
  let cur = o;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
const rec = (e: EventInput): JsonValue => e as unknown as JsonValue;
function reasonOf(e: JsonValue): string {
  const reason = get(e, 'event.reason');
  return typeof reason === 'string' ? reason : '';
}

/** The server's check of a mysql_native_password proof (sql/password.c check_scramble). */
function nativeProofMatches(proof: Buffer, nonce: Buffer, password: string): boolean {
  const sha1 = (...parts: Buffer[]): Buffer => {
    const h = createHash('sha1');
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const stored = sha1(sha1(Buffer.from(password)));
  const mix = sha1(nonce, stored);
  const stage1 = Buffer.from(proof.map((b, i) => b ^ (mix[i] ?? 0)));
  return sha1(stage1).equals(stored);
}

/** Fields of the gateway's HandshakeResponse41 toward the target. */
function decodeResponse(raw: Buffer): {
  seq: number;
  caps: number;
  user: string;
  auth: Buffer;
  rest: string;
} {
  const payload = raw.subarray(4);
  const userEnd = payload.indexOf(0, 32);
  const user = payload.toString('utf8', 32, userEnd);
  const authLength = payload[userEnd + 1] ?? 0;
  const authStart = userEnd + 2;
  return {
    seq: raw[3] ?? -1,
    caps: payload.readUInt32LE(0),
    user,
    auth: payload.subarray(authStart, authStart + authLength),
    rest: payload.toString('latin1', authStart + authLength),
  };
}

describe('mysql auth: gateway — greeting and where the token may cross', () => {
  it('greets the client with the target version and id, its own scramble, no COMPRESS, no SSL without TLS', () => {
    const { r, session } = start('127.0.0.1');
    expect(r.client).toEqual([]);
    session.onServerData(serverGreeting());
    expect(r.client).toHaveLength(1);
    const g = r.client[0] as Buffer;
    expect(g[3]).toBe(0);
    expect(g.toString('latin1')).toContain('5.5.5-10.11.6-MariaDB');
    const payload = g.subarray(4);
    const versionEnd = payload.indexOf(0, 1);
    expect(payload.readUInt32LE(versionEnd + 1)).toBe(77);
    const nonce1 = payload.subarray(versionEnd + 5, versionEnd + 13);
    expect(nonce1.equals(SERVER_NONCE.subarray(0, 8))).toBe(false);
    const caps =
      payload.readUInt16LE(versionEnd + 14) | (payload.readUInt16LE(versionEnd + 19) << 16);
    expect(caps & 0x20).toBe(0); // COMPRESS
    expect(caps & 0x800).toBe(0); // SSL: the listener has no tls:
    expect(g.toString('latin1')).toContain('caching_sha2_password\0');
    expect(r.upstream).toEqual([]);
  });

  it('offers SSL when the listener terminates TLS', () => {
    const { r, session } = start('10.0.0.7', true);
    session.onServerData(serverGreeting());
    const payload = (r.client[0] as Buffer).subarray(4);
    const versionEnd = payload.indexOf(0, 1);
    expect(payload.readUInt16LE(versionEnd + 14) & 0x800).toBe(0x800);
  });

  it('off loopback without TLS the cleartext token is never asked for: ERR 1045, recorded', () => {
    const { r, session } = start('10.0.0.7');
    session.onServerData(serverGreeting());
    session.onClientData(
      handshakeResponse(1, 'dave', 'mysql_native_password', Buffer.alloc(20, 7)),
    );
    const err = r.client[1] as Buffer;
    expect(err[3]).toBe(2);
    expect(err[4]).toBe(0xff);
    expect(err.readUInt16LE(5)).toBe(1045);
    expect(err.toString('latin1')).toContain("#28000Access denied for user 'dave'@'10.0.0.7'");
    const login = rec(r.records[0] as EventInput);
    expect(get(login, 'event.action')).toBe('db-login');
    expect(get(login, 'event.outcome')).toBe('failure');
    expect(get(login, 'event.reason')).toBe(
      'no mysql_native_password credential, and the token in clear needs client TLS or loopback',
    );
    expect(get(login, 'user.name')).toBe('dave');
    expect(r.upstream).toEqual([]);
    expect(r.closed[0]).toMatch(/^policy: gateway sign-in refused/);
  });
});

describe('mysql auth: gateway — sign-in and the target login', () => {
  it('switches to mysql_clear_password, checks the token, logs in with a native proof, follows a switch', async () => {
    const { r, session } = start('127.0.0.1');
    session.onServerData(serverGreeting());
    // The client's response, byte by byte.
    for (const b of handshakeResponse(1, 'dave', 'mysql_native_password', Buffer.alloc(20, 7)))
      session.onClientData(Buffer.from([b]));
    expect(r.client[1]).toEqual(authSwitch(2, 'mysql_clear_password', Buffer.alloc(0)));
    session.onClientData(pkt(3, z(TOKEN)));
    await until(() => r.upstream.length === 1);
    const response = decodeResponse(r.upstream[0] as Buffer);
    expect(response.seq).toBe(1);
    expect(response.user).toBe('app');
    expect(response.caps & 0x20).toBe(0); // no COMPRESS toward the target
    expect(response.caps & 0x800).toBe(0);
    expect(nativeProofMatches(response.auth, SERVER_NONCE, UPSTREAM_PASS)).toBe(true);
    expect(response.rest).toContain('orders\0mysql_native_password\0');
    expect(response.rest).toContain('program_name');

    const nonce2 = Buffer.from('ABCDEFGHIJKLMNOPQRST');
    session.onServerData(
      authSwitch(2, 'mysql_native_password', Buffer.concat([nonce2, Buffer.from([0])])),
    );
    const answer = r.upstream[1] as Buffer;
    expect(answer[3]).toBe(3);
    expect(nativeProofMatches(answer.subarray(4), nonce2, UPSTREAM_PASS)).toBe(true);
    expect(r.client).toHaveLength(2);

    session.onServerData(ok(4));
    expect(r.client[2]).toEqual(ok(4)); // the client's packet 3 is answered by packet 4
    const login = r.records.map(rec).find((e) => get(e, 'event.action') === 'db-login');
    expect(get(login, 'event.outcome')).toBe('success');
    expect(get(login, 'db.user')).toBe('app');
    expect(get(login, 'db.namespace')).toBe('orders');
    expect(r.identity.user).toBe('app');

    // Now an ordinary session: a query is recorded and forwarded.
    session.onClientData(pkt(0, Buffer.concat([Buffer.from([3]), Buffer.from('select 1')])));
    expect((r.upstream[2] as Buffer).subarray(5).toString()).toBe('select 1');
    expect(JSON.stringify(r.records)).not.toContain(TOKEN);
    expect(JSON.stringify(r.records)).not.toContain(UPSTREAM_PASS);
  });

  it('takes the token from the first response when the client chose mysql_clear_password itself', async () => {
    const { r, session } = start('127.0.0.1');
    session.onServerData(serverGreeting());
    session.onClientData(handshakeResponse(1, 'dave', 'mysql_clear_password', z(TOKEN)));
    await until(() => r.upstream.length === 1);
    session.onServerData(ok(2));
    expect(r.client[1]).toEqual(ok(2));
  });

  it('a wrong token: ERR 1045 as the client’s next packet, a failed db-login without the token', async () => {
    const { r, session } = start('127.0.0.1');
    session.onServerData(serverGreeting());
    session.onClientData(handshakeResponse(1, 'dave', 'mysql_native_password', Buffer.alloc(20)));
    session.onClientData(pkt(3, z('tok-wrong')));
    await until(() => r.closed.length === 1);
    const err = r.client[2] as Buffer;
    expect(err[3]).toBe(4);
    expect(err.readUInt16LE(5)).toBe(1045);
    const login = rec(r.records[0] as EventInput);
    expect(get(login, 'event.reason')).toBe('wrong token');
    expect(get(login, 'event.type')).toEqual(['start', 'denied']);
    expect(get(login, 'db.response.status_code')).toBe('28000');
    expect(JSON.stringify(r.records)).not.toContain('tok-wrong');
    expect(r.upstream).toEqual([]);
  });

  it('caching_sha2_password: proves with the SHA-256 scramble, passes fast auth, refuses full auth', async () => {
    const { r, session } = start('127.0.0.1');
    session.onServerData(serverGreeting('caching_sha2_password'));
    session.onClientData(handshakeResponse(1, 'dave', 'mysql_clear_password', z(TOKEN)));
    await until(() => r.upstream.length === 1);
    const response = decodeResponse(r.upstream[0] as Buffer);
    expect(response.auth).toEqual(cachingSha2Proof(UPSTREAM_PASS, SERVER_NONCE));
    expect(response.rest).toContain('caching_sha2_password\0');
    session.onServerData(Buffer.concat([moreData(2, 3), ok(3)]));
    expect(r.client[1]).toEqual(ok(2));

    const second = start('127.0.0.1');
    second.session.onServerData(serverGreeting('caching_sha2_password'));
    second.session.onClientData(handshakeResponse(1, 'dave', 'mysql_clear_password', z(TOKEN)));
    await until(() => second.r.upstream.length === 1);
    second.session.onServerData(moreData(2, 4));
    const err = second.r.client[1] as Buffer;
    expect(err.toString('latin1')).toContain('portwarden could not sign in to the target');
    const failed = rec(second.r.records[0] as EventInput);
    expect(reasonOf(failed)).toMatch(
      /^target sign-in failed: caching_sha2_password full authentication/,
    );
    expect(second.r.closed[0]).toMatch(/^upstream-unreachable/);
  });

  it('the target refusing the gateway: ERR 1045 to the client, the target’s error recorded', async () => {
    const { r, session } = start('127.0.0.1');
    session.onServerData(serverGreeting());
    session.onClientData(handshakeResponse(1, 'dave', 'mysql_clear_password', z(TOKEN)));
    await until(() => r.upstream.length === 1);
    const refusal = Buffer.concat([
      Buffer.from([0xff, 0x15, 0x04]),
      Buffer.from("#28000Access denied for user 'app'"),
    ]);
    session.onServerData(pkt(2, refusal));
    expect((r.client[1] as Buffer)[3]).toBe(2);
    const failed = rec(r.records[0] as EventInput);
    expect(get(failed, 'db.response.error_number')).toBe(1045);
    expect(reasonOf(failed)).toContain("Access denied for user 'app'");
  });
});

/** These unit checks settle within a few turns: a 2 s deadline. */
function until(cond: () => boolean): Promise<void> {
  return untilWithin(cond, 2000);
}

// ---- the client-side plugins: caching_sha2_password, mysql_native_password, mTLS ----------

const SSL_REQUEST = ((): Buffer => {
  const b = Buffer.alloc(32);
  b.writeUInt32LE((CLIENT_CAPS | 0x800) >>> 0, 0);
  b.writeUInt32LE(16 * 1024 * 1024, 4);
  b[8] = 45;
  return pkt(1, b);
})();

/** The 20-byte scramble of the gateway's greeting to the client. */
function greetingNonce(g: Buffer): Buffer {
  const payload = g.subarray(4);
  const versionEnd = payload.indexOf(0, 1);
  return Buffer.concat([
    payload.subarray(versionEnd + 5, versionEnd + 13),
    payload.subarray(versionEnd + 32, versionEnd + 44),
  ]);
}

/** What a client computes for mysql_native_password (sql/password.c scramble). */
function nativeProof(password: string, nonce: Buffer): Buffer {
  const sha1 = (...parts: Buffer[]): Buffer => {
    const h = createHash('sha1');
    for (const part of parts) h.update(part);
    return h.digest();
  };
  const stage1 = sha1(Buffer.from(password));
  const mix = sha1(nonce, sha1(stage1));
  return Buffer.from(stage1.map((b, i) => b ^ (mix[i] ?? 0)));
}

const DAVE_HASH = `*${createHash('sha1')
  .update(createHash('sha1').update(TOKEN).digest())
  .digest('hex')
  .toUpperCase()}`;

const daveSignedIn: SignInResult = {
  ok: true,
  principal: { name: 'dave', kind: 'person', groups: [], method: 'token' },
};

/** `auth` with a stored mysql_native_password hash for dave. */
const withNativeHash: GatewayAuth = {
  ...auth,
  mysqlNativeHash: (user) => (user === 'dave' ? DAVE_HASH : undefined),
  signInMysqlNative: (user, check) =>
    user === 'dave' && check(DAVE_HASH) ? daveSignedIn : { ok: false, reason: 'wrong token' },
};

function errOf(b: Buffer | undefined): { seq: number; code: number; text: string } {
  if (b === undefined) throw new Error('no packet');
  return { seq: b[3] ?? -1, code: b.readUInt16LE(5), text: b.toString('latin1', 7) };
}

describe('mysql auth: gateway — caching_sha2_password, mysql_native_password, mTLS', () => {
  it('caching_sha2_password over TLS: the scramble is answered "perform full authentication", the token then checked', async () => {
    const { r, session } = start('10.0.0.7', true);
    session.onServerData(serverGreeting());
    session.onClientData(SSL_REQUEST);
    session.onClientData(
      handshakeResponse(2, 'dave', 'caching_sha2_password', Buffer.alloc(32, 9)),
    );
    expect(r.client[1]).toEqual(moreData(3, 4));
    session.onClientData(pkt(4, z(TOKEN)));
    await until(() => r.upstream.length === 1);
    session.onServerData(ok(2));
    expect(r.client[2]).toEqual(ok(5));
  });

  it('over TLS a client that answered with another plugin is switched to caching_sha2_password', async () => {
    const { r, session } = start('10.0.0.7', true);
    session.onServerData(serverGreeting());
    const nonce = greetingNonce(r.client[0] as Buffer);
    session.onClientData(SSL_REQUEST);
    session.onClientData(
      handshakeResponse(2, 'dave', 'mysql_native_password', Buffer.alloc(20, 9)),
    );
    expect(r.client[1]).toEqual(
      authSwitch(3, 'caching_sha2_password', Buffer.concat([nonce, Buffer.from([0])])),
    );
    session.onClientData(pkt(4, Buffer.alloc(32, 1)));
    expect(r.client[2]).toEqual(moreData(5, 4));
    session.onClientData(pkt(6, z(TOKEN)));
    await until(() => r.upstream.length === 1);
  });

  it('a request for the RSA public key is refused: ERR 1045, recorded with the reason', () => {
    const { r, session } = start('10.0.0.7', true);
    session.onServerData(serverGreeting());
    session.onClientData(SSL_REQUEST);
    session.onClientData(
      handshakeResponse(2, 'dave', 'caching_sha2_password', Buffer.alloc(32, 9)),
    );
    session.onClientData(pkt(4, Buffer.from([2])));
    const err = errOf(r.client[2]);
    expect(err.seq).toBe(5);
    expect(err.code).toBe(1045);
    const login = rec(r.records[0] as EventInput);
    expect(reasonOf(login)).toBe(
      'caching_sha2_password RSA key exchange is not supported: connect with TLS',
    );
    expect(get(login, 'db.login.auth_plugin')).toBe('caching_sha2_password');
    expect(r.upstream).toEqual([]);
  });

  it('mysql_native_password with a stored hash: checked on a plain leg off loopback', async () => {
    const { r, session } = start('10.0.0.7', false, withNativeHash);
    session.onServerData(serverGreeting());
    const nonce = greetingNonce(r.client[0] as Buffer);
    session.onClientData(
      handshakeResponse(1, 'dave', 'mysql_native_password', nativeProof(TOKEN, nonce)),
    );
    await until(() => r.upstream.length === 1);
    expect(decodeResponse(r.upstream[0] as Buffer).user).toBe('app');

    const wrong = start('10.0.0.7', false, withNativeHash);
    wrong.session.onServerData(serverGreeting());
    const nonce2 = greetingNonce(wrong.r.client[0] as Buffer);
    wrong.session.onClientData(
      handshakeResponse(1, 'dave', 'mysql_native_password', nativeProof('tok-wrong', nonce2)),
    );
    expect(errOf(wrong.r.client[1]).code).toBe(1045);
    expect(reasonOf(rec(wrong.r.records[0] as EventInput))).toBe('wrong token');
    expect(wrong.r.upstream).toEqual([]);
  });

  it('a native client that sent no scramble (the greeting named another plugin) is switched, with the nonce', () => {
    const { r, session } = start('10.0.0.7', false, withNativeHash);
    session.onServerData(serverGreeting());
    const nonce = greetingNonce(r.client[0] as Buffer);
    session.onClientData(handshakeResponse(1, 'dave', 'mysql_native_password', Buffer.alloc(0)));
    expect(r.client[1]).toEqual(
      authSwitch(2, 'mysql_native_password', Buffer.concat([nonce, Buffer.from([0])])),
    );
  });

  it('a caching_sha2_password client on a plain leg is switched to mysql_native_password when a hash is stored', async () => {
    const { r, session } = start('10.0.0.7', false, withNativeHash);
    session.onServerData(serverGreeting());
    const nonce = greetingNonce(r.client[0] as Buffer);
    session.onClientData(
      handshakeResponse(1, 'dave', 'caching_sha2_password', Buffer.alloc(32, 9)),
    );
    expect(r.client[1]).toEqual(
      authSwitch(2, 'mysql_native_password', Buffer.concat([nonce, Buffer.from([0])])),
    );
    session.onClientData(pkt(3, nativeProof(TOKEN, nonce)));
    await until(() => r.upstream.length === 1);
    session.onServerData(ok(2));
    expect(r.client[2]).toEqual(ok(4));
  });

  it('a certificate naming a certificate-only identity signs in without a password step', async () => {
    const { r, session } = start('10.0.0.7', true, {
      ...auth,
      certificate: (user) =>
        user === 'svc'
          ? {
              kind: 'signed-in',
              result: {
                ok: true,
                principal: { name: 'svc', kind: 'service', groups: [], method: 'mtls' },
              },
            }
          : { kind: 'refused', reason: 'client certificate is identity svc' },
    });
    session.onServerData(serverGreeting());
    session.onClientData(SSL_REQUEST);
    session.onClientData(handshakeResponse(2, 'svc', 'caching_sha2_password', Buffer.alloc(32, 9)));
    await until(() => r.upstream.length === 1);
    expect(r.client).toHaveLength(1); // greeting only: no switch, no more-data
    session.onServerData(ok(2));
    expect(r.client[1]).toEqual(ok(3));

    const other = start('10.0.0.7', true, {
      ...auth,
      certificate: () => ({ kind: 'refused', reason: 'client certificate is identity svc' }),
    });
    other.session.onServerData(serverGreeting());
    other.session.onClientData(SSL_REQUEST);
    other.session.onClientData(
      handshakeResponse(2, 'dave', 'caching_sha2_password', Buffer.alloc(32, 9)),
    );
    expect(errOf(other.r.client[1]).code).toBe(1045);
    expect(reasonOf(rec(other.r.records[0] as EventInput))).toBe(
      'client certificate is identity svc',
    );
  });
});
