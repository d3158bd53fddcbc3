/** Identity directory: static tokens (hash, constant-time), JWTs via a JWKS file, mTLS subjects. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityDirectory, tokenSha256 } from '../../../src/identity/index.js';

let dir: string;
let directory: IdentityDirectory;
let sign: (claims: {
  sub?: string;
  aud?: string;
  exp?: number;
  groups?: string[];
}) => Promise<string>;
let foreignSign: typeof sign;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pw-id-'));
  const mk = async (kid: string) => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256' };
    const signer: typeof sign = (c) =>
      new SignJWT(c.groups === undefined ? {} : { groups: c.groups })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(c.sub ?? 'alice')
        .setAudience(c.aud ?? 'pw')
        .setExpirationTime(c.exp ?? Math.floor(Date.now() / 1000) + 600)
        .sign(privateKey);
    return { jwk, signer };
  };
  const ours = await mk('k1');
  const theirs = await mk('k1');
  sign = ours.signer;
  foreignSign = theirs.signer;
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [ours.jwk] }));
  directory = new IdentityDirectory([
    {
      name: 'alice',
      kind: 'person',
      groups: ['dba'],
      credentials: [
        { type: 'token', sha256: tokenSha256('alice-token') },
        { type: 'jwt', jwks_file: join(dir, 'jwks.json'), audience: 'pw', groups_claim: 'groups' },
        { type: 'mtls', subject: 'CN=alice' },
      ],
    },
    {
      name: 'etl',
      kind: 'service',
      groups: [],
      credentials: [{ type: 'token', sha256: tokenSha256('etl-token') }],
    },
  ]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('static tokens', () => {
  it('accepts the right token for the named identity, or found by the token alone', async () => {
    const named = await directory.verify('alice', 'alice-token');
    expect(named).toEqual({
      ok: true,
      principal: { name: 'alice', kind: 'person', groups: ['dba'], method: 'token' },
    });
    const bare = await directory.verify(undefined, 'etl-token');
    expect(bare.ok && bare.principal.name).toBe('etl');
  });

  it('refuses a wrong token, another identity’s token, an unknown identity, an empty secret', async () => {
    expect(await directory.verify('alice', 'nope')).toEqual({ ok: false, reason: 'wrong token' });
    expect(await directory.verify('alice', 'etl-token')).toEqual({
      ok: false,
      reason: 'wrong token',
    });
    expect(await directory.verify('mallory', 'alice-token')).toEqual({
      ok: false,
      reason: 'unknown identity',
    });
    expect(await directory.verify(undefined, 'nope')).toEqual({
      ok: false,
      reason: 'unknown token',
    });
    expect(await directory.verify('alice', '')).toEqual({ ok: false, reason: 'empty credential' });
  });
});

describe('JWT', () => {
  it('accepts a valid token and adds the groups claim', async () => {
    const r = await directory.verify(undefined, await sign({ groups: ['eng'] }));
    expect(r).toEqual({
      ok: true,
      principal: { name: 'alice', kind: 'person', groups: ['dba', 'eng'], method: 'jwt' },
    });
  });

  it('refuses expired, wrong audience, foreign key, unknown subject, and a name mismatch', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    expect(await directory.verify(undefined, await sign({ exp: past }))).toEqual({
      ok: false,
      reason: 'jwt expired',
    });
    expect(await directory.verify(undefined, await sign({ aud: 'other' }))).toEqual({
      ok: false,
      reason: 'jwt claim aud invalid',
    });
    expect(await directory.verify(undefined, await foreignSign({}))).toEqual({
      ok: false,
      reason: 'jwt signature invalid',
    });
    expect((await directory.verify(undefined, await sign({ sub: 'bob' }))).ok).toBe(false);
    expect((await directory.verify('etl', await sign({}))).ok).toBe(false);
    expect(await directory.verify(undefined, 'a.b.c')).toEqual({
      ok: false,
      reason: 'jwt malformed',
    });
  });
});

describe('mTLS', () => {
  it('maps a certificate subject to its identity', () => {
    const r = directory.verifyMtls('CN=alice');
    expect(r.ok && r.principal.method).toBe('mtls');
    expect(directory.verifyMtls('CN=bob').ok).toBe(false);
  });
});
