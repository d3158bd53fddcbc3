/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys: key IDs, verifier and signer
 * key strings, signing, and opening a note against known verifier keys.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { PortwardenError } from '../errors.js';

/** Signature type byte of Ed25519 keys in key strings and key IDs — signed-note §Signatures. */
const ALG_ED25519 = 0x01;
const ED25519_KEY_SIZE = 32;
const ED25519_SIG_SIZE = 64;
const KEY_ID_SIZE = 4;
// DER headers of an Ed25519 PKCS#8 private key and SPKI public key (RFC 8410), before the raw 32 bytes.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** The signature line prefix: U+2014 EM DASH and a space. */
const SIG_PREFIX = '\u2014 ';
const MAX_NOTE_LENGTH = 1 << 20;
// Bound the work a hostile note can cause (the Go reference stops at 100 too).
const MAX_SIGNATURES = 100;

/** A public key that can verify notes. */
export interface NoteVerifier {
  readonly name: string;
  /** The key ID as 8 lowercase hex digits. */
  readonly keyId: string;
  readonly publicKeyRaw: Buffer;
  readonly publicKey: KeyObject;
  /** `<name>+<8 hex key ID>+<base64(0x01 ‖ public key)>`. */
  readonly verifierKey: string;
}

/** A private key that can sign notes. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKeyRaw: Buffer;
}

/** Outcome of opening a note; `verified` lists every known key whose signature holds. */
export type NoteOpenResult =
  | {
      readonly ok: true;
      readonly text: string;
      readonly verified: readonly NoteVerifier[];
      readonly unverified: readonly { readonly name: string; readonly keyId: string }[];
    }
  | {
      readonly ok: false;
      readonly reason: 'malformed' | 'unknown-key' | 'bad-signature';
      readonly detail: string;
    };

/** True for a valid key name: non-empty, no Unicode white space, no `+` — signed-note §Keys. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\p{White_Space}+]/u.test(name) && !/\p{Cs}/u.test(name);
}

/** Key ID = first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key) — signed-note §Signatures. */
export function noteKeyId(name: string, publicKeyRaw: Uint8Array): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ALG_ED25519]))
    .update(publicKeyRaw)
    .digest()
    .subarray(0, KEY_ID_SIZE);
}

/** Formats the verifier key string of an Ed25519 public key. */
export function formatVerifierKey(name: string, publicKeyRaw: Uint8Array): string {
  const keyData = Buffer.concat([Buffer.from([ALG_ED25519]), publicKeyRaw]);
  return `${name}+${noteKeyId(name, publicKeyRaw).toString('hex')}+${keyData.toString('base64')}`;
}

/** Formats the `PRIVATE+KEY+…` signer key string of an Ed25519 seed (secret: never log it). */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  const publicKeyRaw = publicKeyOfSeed(seed);
  const keyData = Buffer.concat([Buffer.from([ALG_ED25519]), seed]);
  return `PRIVATE+KEY+${name}+${noteKeyId(name, publicKeyRaw).toString('hex')}+${keyData.toString('base64')}`;
}

/** Parses `<name>+<hex id>+<base64(0x01 ‖ key)>`; throws PW_ERR_KEY when malformed. */
export function parseVerifierKey(text: string): NoteVerifier {
  const [name, id, keyData] = splitKey(text, 'verifier key');
  const publicKeyRaw = ed25519KeyData(keyData, 'verifier key');
  checkKeyId(name, id, publicKeyRaw, 'verifier key');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKeyRaw]),
      format: 'der',
      type: 'spki',
    });
  } catch (err) {
    throw keyError('verifier key is not an Ed25519 public key', err);
  }
  return { name, keyId: id, publicKeyRaw, publicKey, verifierKey: text };
}

/** Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`; throws PW_ERR_KEY when malformed. */
export function parseSignerKey(text: string): NoteSigner {
  if (!text.startsWith('PRIVATE+KEY+')) throw keyError('signer key must start with PRIVATE+KEY+');
  const [name, id, keyData] = splitKey(text.slice('PRIVATE+KEY+'.length), 'signer key');
  const seed = ed25519KeyData(keyData, 'signer key');
  const signer = signerFromSeed(name, seed);
  if (signer.keyId !== id) throw keyError('signer key ID does not match its key');
  return signer;
}

/** Builds a signer from a 32-byte Ed25519 seed. */
export function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  if (!isValidKeyName(name)) throw keyError('key name must be non-empty without spaces or +');
  if (seed.length !== ED25519_KEY_SIZE) throw keyError('Ed25519 seed must be 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKeyRaw = rawPublicKey(privateKey);
  return { name, keyId: noteKeyId(name, publicKeyRaw).toString('hex'), privateKey, publicKeyRaw };
}

/** The verifier matching a signer. */
export function verifierOf(signer: NoteSigner): NoteVerifier {
  return parseVerifierKey(formatVerifierKey(signer.name, signer.publicKeyRaw));
}

/** Signs note text (which must end in a newline) with each signer; returns the note. */
export function signNote(text: string, signers: NoteSigner | readonly NoteSigner[]): string {
  const problem = textProblem(text);
  if (problem !== null) throw keyError(`cannot sign note: ${problem}`);
  const list: readonly NoteSigner[] = 'privateKey' in signers ? [signers] : signers;
  if (list.length === 0) throw keyError('cannot sign note: no signer');
  const message = Buffer.from(text, 'utf8');
  let out = text + '\n';
  for (const signer of list) {
    const sig = sign(null, message, signer.privateKey);
    const blob = Buffer.concat([Buffer.from(signer.keyId, 'hex'), sig]);
    out += `${SIG_PREFIX}${signer.name} ${blob.toString('base64')}\n`;
  }
  return out;
}

/**
 * Opens a note: every signature by a known key (same name and key ID) must verify; signatures
 * by unknown keys are listed and ignored; a note that no known key verifies is refused.
 */
export function openNote(note: string, known: readonly (NoteVerifier | string)[]): NoteOpenResult {
  if (note.length > MAX_NOTE_LENGTH) return malformed('note is too long');
  const problem = textProblem(note);
  if (problem !== null) return malformed(problem);
  // The signature block follows the last blank line — signed-note §Format.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return malformed('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return malformed('too many signatures');
  const verifiers = known.map((k) => (typeof k === 'string' ? parseVerifierKey(k) : k));
  const message = Buffer.from(text, 'utf8');
  const verified: NoteVerifier[] = [];
  const unverified: { name: string; keyId: string }[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) return malformed('signature line without the em dash');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? '' : rest.slice(0, space);
    const blob = space < 0 ? null : strictBase64(rest.slice(space + 1));
    if (!isValidKeyName(name) || blob === null || blob.length < KEY_ID_SIZE + 1) {
      return malformed('bad signature line');
    }
    const keyId = blob.subarray(0, KEY_ID_SIZE).toString('hex');
    const verifier = verifiers.find((v) => v.name === name && v.keyId === keyId);
    if (verifier === undefined) {
      unverified.push({ name, keyId });
      continue;
    }
    if (verified.includes(verifier)) continue;
    const sig = blob.subarray(KEY_ID_SIZE);
    if (sig.length !== ED25519_SIG_SIZE || !verify(null, message, verifier.publicKey, sig)) {
      return { ok: false, reason: 'bad-signature', detail: `signature by ${name} does not verify` };
    }
    verified.push(verifier);
  }
  if (verified.length === 0) {
    const names = unverified.map((u) => `${u.name}+${u.keyId}`).join(', ');
    return { ok: false, reason: 'unknown-key', detail: `no known key signed this note (${names})` };
  }
  return { ok: true, text, verified, unverified };
}

function malformed(detail: string): NoteOpenResult {
  return { ok: false, reason: 'malformed', detail };
}

/** Why `text` cannot be note text (UTF-8, ends in newline, no control bytes but newline), or null. */
function textProblem(text: string): string | null {
  if (!text.endsWith('\n')) return 'text must end with a newline';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return 'control character in text';
  }
  if (/\p{Cs}/u.test(text)) return 'text is not valid UTF-8';
  return null;
}

function splitKey(text: string, what: string): [string, string, string] {
  // The base64 key data may itself contain '+', so only the first two separators count.
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw keyError(`${what} must be <name>+<id>+<key>`);
  const name = text.slice(0, first);
  const id = text.slice(first + 1, second);
  if (!isValidKeyName(name)) throw keyError(`${what} has an invalid name`);
  if (!/^[0-9a-f]{8}$/.test(id)) throw keyError(`${what} ID must be 8 lowercase hex digits`);
  return [name, id, text.slice(second + 1)];
}

function ed25519KeyData(text: string, what: string): Buffer {
  const data = strictBase64(text);
  if (data === null || data.length !== 1 + ED25519_KEY_SIZE || data[0] !== ALG_ED25519) {
    throw keyError(`${what} is not an Ed25519 key`);
  }
  return data.subarray(1);
}

function checkKeyId(name: string, id: string, publicKeyRaw: Buffer, what: string): void {
  if (noteKeyId(name, publicKeyRaw).toString('hex') !== id) {
    throw keyError(`${what} ID does not match its key`);
  }
}

/** Standard padded base64, refusing anything Buffer's lenient decoder would silently fix. */
export function strictBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    return null;
  }
  const data = Buffer.from(text, 'base64');
  return data.toString('base64') === text ? data : null;
}

function publicKeyOfSeed(seed: Uint8Array): Buffer {
  return signerFromSeed('k', seed).publicKeyRaw;
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(SPKI_ED25519_PREFIX.length));
}

function keyError(detail: string, cause?: unknown): PortwardenError {
  return new PortwardenError('PW_ERR_KEY', { detail }, cause === undefined ? {} : { cause });
}
