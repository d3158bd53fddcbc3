/**
 * The mTLS rule of a connection's identity (docs/identity.md, Client certificates): a trusted
 * certificate naming a certificate-only identity signs it in; naming one with a token, the
 * token must still match and the method is `mtls`; naming another identity, or untrusted,
 * refuses. Also the `identity credentials --mysql-native` output against the schema.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tokenCredentials } from '../../../src/cli/commands/identity.js';
import { identitySchema } from '../../../src/config/schema.js';
import {
  ConnectionIdentity,
  IdentityDirectory,
  rfc4514Subject,
  tokenSha256,
  type ClientTls,
  type IdentityRuntime,
} from '../../../src/identity/index.js';
import { nativePasswordHash, nativeProofMatches } from '../../../src/protocols/mysql/index.js';
import { nativePasswordProof } from '../../../src/protocols/mysql/scramble.js';

const TOKEN = 'tok-alice-0123456789';

function connection(tls: ClientTls | null): ConnectionIdentity {
  const directory = new IdentityDirectory([
    {
      name: 'orders-svc',
      kind: 'service',
      groups: ['services'],
      credentials: [{ type: 'mtls', subject: 'CN=orders-svc,O=Acme' }],
    },
    {
      name: 'alice',
      kind: 'person',
      groups: [],
      credentials: [
        { type: 'mtls', subject: 'CN=alice' },
        { type: 'token', sha256: tokenSha256(TOKEN) },
      ],
    },
  ]);
  const runtime = { directory } as unknown as IdentityRuntime;
  const c = new ConnectionIdentity(runtime, 'l', 'deny');
  if (tls !== null) c.noteClientTls(tls);
  return c;
}

const cert = (subject: string, trusted = true): ClientTls => ({
  peer: trusted ? { subject, trusted } : { subject, trusted, problem: 'CERT_HAS_EXPIRED' },
});

describe('certificate sign-in', () => {
  it('writes Node subjects as RFC 4514, most specific first', () => {
    expect(rfc4514Subject('C=DE\nO=Acme\nCN=orders-svc')).toBe('CN=orders-svc,O=Acme,C=DE');
  });

  it('a certificate-only identity is signed in by its certificate', () => {
    const c = connection(cert('CN=orders-svc,O=Acme'));
    const verdict = c.certificate(undefined);
    expect(verdict.kind).toBe('signed-in');
    expect(c.userFields()).toEqual({
      name: 'orders-svc',
      roles: ['services'],
      auth_method: 'mtls',
    });
  });

  it('an identity with a token still needs it; signed in, the method is mtls', async () => {
    const c = connection(cert('CN=alice'));
    expect(c.certificate('alice')).toEqual({ kind: 'needs-secret', identity: 'alice' });
    expect(await c.signIn('alice', 'tok-wrong')).toEqual({ ok: false, reason: 'wrong token' });
    const ok = await c.signIn('alice', TOKEN);
    expect(ok.ok && ok.principal.method).toBe('mtls');
  });

  it('a certificate naming someone else, or an untrusted one, refuses even a right token', async () => {
    const other = connection(cert('CN=orders-svc,O=Acme'));
    expect(other.certificate('alice')).toEqual({
      kind: 'refused',
      reason: 'client certificate is identity orders-svc',
    });
    expect(await other.signIn('alice', TOKEN)).toEqual({
      ok: false,
      reason: 'client certificate is identity orders-svc',
    });
    const untrusted = connection(cert('CN=alice', false));
    expect(await untrusted.signIn('alice', TOKEN)).toEqual({
      ok: false,
      reason: 'client certificate not trusted: CERT_HAS_EXPIRED',
    });
    expect(untrusted.principal).toBeNull();
  });

  it('no certificate, or one naming nobody: the token alone signs in (method token)', async () => {
    for (const tls of [null, cert('CN=stranger')]) {
      const c = connection(tls);
      expect(c.certificate('alice')).toEqual({ kind: 'none' });
      const ok = await c.signIn('alice', TOKEN);
      expect(ok.ok && ok.principal.method).toBe('token');
    }
  });
});

describe('identity credentials --mysql-native', () => {
  it('prints a config-valid mysql_native_password hash that checks a native proof', () => {
    const credentials = parse(tokenCredentials(TOKEN, 4096, true)) as unknown;
    const checked = identitySchema.safeParse({ name: 'alice', credentials });
    expect(checked.success).toBe(true);
    if (!checked.success) return;
    const native = checked.data.credentials[2];
    if (native?.type !== 'mysql_native_password') throw new Error('no native credential');
    expect(native.hash).toBe(nativePasswordHash(TOKEN));
    const nonce = Buffer.from('0123456789abcdefghij');
    expect(nativeProofMatches(nativePasswordProof(TOKEN, nonce), nonce, native.hash)).toBe(true);
    expect(nativeProofMatches(nativePasswordProof('tok-x', nonce), nonce, native.hash)).toBe(false);
    expect(nativeProofMatches(Buffer.alloc(3), nonce, native.hash)).toBe(false);
  });
});
