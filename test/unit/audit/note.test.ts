// C2SP signed-note vector from golang.org/x/mod/sumdb/note tests, as listed in
// /work/shared/reference/vectors.md ("C2SP signed-note and tlog-checkpoint").
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  formatSignerKey,
  formatVerifierKey,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  signerFromSeed,
  verifierOf,
} from '../../../src/audit/integrity.js';
import { sha256 } from '../../helpers/audit-naive-merkle.js';

const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIG_LINE =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const NOTE = TEXT + '\n' + SIG_LINE;

function otherSigner(name: string): ReturnType<typeof signerFromSeed> {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return signerFromSeed(name, Buffer.from(jwk.d ?? '', 'base64url'));
}

describe('signed note keys (signed-note §Keys)', () => {
  it('parses the vector verifier key and recomputes its key ID', () => {
    const v = parseVerifierKey(VKEY);
    expect(v.name).toBe('PeterNeumann');
    expect(v.keyId).toBe('c74f20a3');
    // Key ID computed independently: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[0:4].
    const independent = sha256(
      Buffer.from('PeterNeumann\n\x01', 'latin1'),
      v.publicKeyRaw,
    ).subarray(0, 4);
    expect(noteKeyId('PeterNeumann', v.publicKeyRaw).equals(independent)).toBe(true);
    expect(formatVerifierKey(v.name, v.publicKeyRaw)).toBe(VKEY);
  });

  it('parses the PRIVATE+KEY form (base64 with +) and round-trips it', () => {
    const s = parseSignerKey(SKEY);
    expect(s.keyId).toBe('c74f20a3');
    expect(formatVerifierKey(s.name, s.publicKeyRaw)).toBe(VKEY);
    expect(verifierOf(s).verifierKey).toBe(VKEY);
    const seed = Buffer.from(SKEY.split('+').slice(4).join('+'), 'base64').subarray(1);
    expect(formatSignerKey('PeterNeumann', seed)).toBe(SKEY);
  });

  it.each([
    ['empty name', '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['wrong id', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['upper-case id', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['other name', 'PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['wrong algorithm', 'PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['short key', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10'],
    ['unpadded', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW='],
    ['missing parts', 'PeterNeumann+c74f20a3'],
  ])('refuses a verifier key with %s', (_what, key) => {
    expect(() => parseVerifierKey(key)).toThrow(expect.objectContaining({ code: 'PW_ERR_KEY' }));
  });

  it('refuses signer keys without the prefix or with a wrong ID', () => {
    expect(() => parseSignerKey(SKEY.slice('PRIVATE+KEY+'.length))).toThrow(/PRIVATE\+KEY/);
    expect(() => parseSignerKey(SKEY.replace('c74f20a3', '00000000'))).toThrow(/does not match/);
    expect(() => signerFromSeed('has space', Buffer.alloc(32))).toThrow(/key name/);
    expect(() => signerFromSeed('a+b', Buffer.alloc(32))).toThrow(/key name/);
    expect(() => signerFromSeed('nbsp\u00a0', Buffer.alloc(32))).toThrow(/key name/);
  });
});

describe('signing and opening notes (signed-note §Format)', () => {
  it('signs the vector text into exactly the vector note (Ed25519 is deterministic)', () => {
    expect(signNote(TEXT, parseSignerKey(SKEY))).toBe(NOTE);
  });

  it('opens the vector note with the vector key', () => {
    const opened = openNote(NOTE, [VKEY]);
    expect(opened.ok).toBe(true);
    if (opened.ok) {
      expect(opened.text).toBe(TEXT);
      expect(opened.verified.map((v) => v.name)).toEqual(['PeterNeumann']);
    }
  });

  it('ignores unknown signers but refuses a note no known key verifies', () => {
    const other = otherSigner('Other');
    const both = signNote(TEXT, [parseSignerKey(SKEY), other]);
    const opened = openNote(both, [VKEY]);
    expect(opened.ok && opened.unverified).toEqual([{ name: 'Other', keyId: other.keyId }]);
    const onlyOther = openNote(signNote(TEXT, other), [VKEY]);
    expect(onlyOther).toMatchObject({ ok: false, reason: 'unknown-key' });
    // Same name, other key: the key ID differs, so it is an unknown key, not a forgery.
    const impostor = openNote(signNote(TEXT, otherSigner('PeterNeumann')), [VKEY]);
    expect(impostor).toMatchObject({ ok: false, reason: 'unknown-key' });
  });

  it('refuses a note whose text or signature was changed', () => {
    expect(openNote(NOTE.replace('cryptography', 'cryptographx'), [VKEY])).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const sigAt = NOTE.indexOf('x08go') + 10;
    const flipped =
      NOTE.slice(0, sigAt) + (NOTE[sigAt] === 'A' ? 'B' : 'A') + NOTE.slice(sigAt + 1);
    expect(openNote(flipped, [VKEY])).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it.each([
    ['no final newline', NOTE.slice(0, -1)],
    ['no blank line', TEXT + SIG_LINE],
    ['a hyphen instead of the em dash', TEXT + '\n' + SIG_LINE.replace('\u2014', '-')],
    ['no signature', TEXT + '\n'],
    ['an empty signature line', TEXT + '\n' + SIG_LINE + '\n'],
    ['a control character', NOTE.replace('If', 'I\tf')],
    ['a signature too short', TEXT + '\n\u2014 PeterNeumann AAAA\n'],
    ['bad base64', TEXT + '\n\u2014 PeterNeumann x08go/ZJ!=\n'],
    ['a lone surrogate', NOTE.replace('If', 'I\ud800f')],
  ])('refuses a malformed note with %s', (_what, note) => {
    expect(openNote(note, [VKEY])).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuses to sign text without a final newline or with control characters', () => {
    const s = parseSignerKey(SKEY);
    expect(() => signNote('no newline', s)).toThrow(/newline/);
    expect(() => signNote('bell\x07\n', s)).toThrow(/control/);
  });
});
