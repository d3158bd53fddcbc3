/**
 * SCRAM-SHA-256 against RFC 7677 §3's example exchange (user "user", password "pencil"),
 * both sides, plus the pg_authid verifier format.
 */
import { describe, expect, it } from 'vitest';
import {
  formatScramVerifier,
  mockScramVerifier,
  parseScramVerifier,
  ScramClient,
  ScramServer,
  scramVerifierFor,
} from '../../../src/protocols/postgres/scram.js';

// RFC 7677 §3.
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST =
  'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL =
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

describe('SCRAM-SHA-256 client (RFC 7677 §3)', () => {
  it('produces the RFC client messages and accepts the RFC server signature', () => {
    const client = new ScramClient('pencil', CLIENT_NONCE, 'user');
    expect(client.firstMessage()).toBe(CLIENT_FIRST);
    expect(client.finalMessage(SERVER_FIRST)).toEqual({ ok: true, message: CLIENT_FINAL });
    expect(client.verifyServerFinal(SERVER_FINAL).ok).toBe(true);
  });

  it('refuses a forged server signature, a server error, and a nonce it did not extend', () => {
    const client = new ScramClient('pencil', CLIENT_NONCE, 'user');
    client.finalMessage(SERVER_FIRST);
    expect(client.verifyServerFinal('v=' + Buffer.alloc(32).toString('base64')).ok).toBe(false);
    expect(client.verifyServerFinal('e=invalid-proof')).toEqual({
      ok: false,
      reason: 'server: invalid-proof',
    });
    const other = new ScramClient('pencil', 'abc', 'user');
    expect(other.finalMessage(SERVER_FIRST).ok).toBe(false);
    expect(other.finalMessage('r=abcdef,s=AAAA,i=99999999').ok).toBe(false);
    expect(other.finalMessage('garbage').ok).toBe(false);
  });
});

describe('SCRAM-SHA-256 server (RFC 7677 §3)', () => {
  const verifier = scramVerifierFor('pencil', SALT, 4096);

  it('answers the RFC client with the RFC server messages', () => {
    const server = new ScramServer(verifier, SERVER_NONCE);
    expect(server.firstMessage(CLIENT_FIRST)).toEqual({ ok: true, message: SERVER_FIRST });
    expect(server.finalMessage(CLIENT_FINAL)).toEqual({ ok: true, message: SERVER_FINAL });
  });

  it('refuses a wrong password, a changed nonce, channel binding and malformed input', () => {
    const wrong = new ScramServer(verifier, SERVER_NONCE);
    wrong.firstMessage(CLIENT_FIRST);
    const forged = CLIENT_FINAL.replace(/p=.*$/, 'p=' + Buffer.alloc(32, 7).toString('base64'));
    expect(wrong.finalMessage(forged)).toEqual({ ok: false, reason: 'wrong token' });

    const nonce = new ScramServer(verifier, SERVER_NONCE);
    nonce.firstMessage(CLIENT_FIRST);
    expect(nonce.finalMessage(CLIENT_FINAL.replace('k0,p=', 'k1,p=')).ok).toBe(false);

    const server = new ScramServer(verifier);
    expect(server.firstMessage('p=tls-server-end-point,,n=,r=abc').ok).toBe(false);
    expect(server.firstMessage('n,a=admin,n=,r=abc').ok).toBe(false);
    expect(server.firstMessage('n,,r=abc').ok).toBe(false);
    expect(server.firstMessage('hello').ok).toBe(false);
    expect(server.finalMessage('c=biws').ok).toBe(false);
  });

  it('round-trips with our client, `y,,` included (libpq over TLS without -PLUS)', () => {
    const v = scramVerifierFor('tok-0123456789');
    const server = new ScramServer(v);
    const client = new ScramClient('tok-0123456789');
    const first = server.firstMessage(client.firstMessage().replace(/^n,,/, 'y,,'));
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const final = client.finalMessage(first.message);
    if (!final.ok) throw new Error(final.reason);
    // Our client always says n,,; a y,, client sends c=eSws — check that path by hand.
    expect(server.finalMessage(final.message).ok).toBe(false);
    const server2 = new ScramServer(v);
    const client2 = new ScramClient('tok-0123456789');
    const first2 = server2.firstMessage(client2.firstMessage());
    if (!first2.ok) throw new Error(first2.reason);
    const final2 = client2.finalMessage(first2.message);
    if (!final2.ok) throw new Error(final2.reason);
    const answer = server2.finalMessage(final2.message);
    expect(answer.ok).toBe(true);
    if (answer.ok) expect(client2.verifyServerFinal(answer.message).ok).toBe(true);
  });
});

describe('SCRAM verifier format (pg_authid)', () => {
  it('formats and parses SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>', () => {
    const v = scramVerifierFor('pencil', SALT, 4096);
    const text = formatScramVerifier(v);
    expect(text).toMatch(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[^:]{44}:[^:]{44}$/);
    expect(parseScramVerifier(text)).toEqual(v);
    expect(parseScramVerifier('md5abcdef')).toBeNull();
    expect(parseScramVerifier(text.replace('4096', '0'))).toBeNull();
  });

  it('gives a stable mock verifier per unknown name', () => {
    expect(mockScramVerifier('mallory')).toEqual(mockScramVerifier('mallory'));
    expect(mockScramVerifier('mallory').salt.equals(mockScramVerifier('eve').salt)).toBe(false);
  });
});
