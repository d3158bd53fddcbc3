/**
 * The password proofs the gateway sends when it logs in to a MySQL/MariaDB target (both prove
 * the password against the server's 20-byte nonce without sending it), and the check of a
 * client's mysql_native_password proof against a stored hash when a client signs in.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (algorithm: 'sha1' | 'sha256', ...parts: Buffer[]): Buffer => {
  const hash = createHash(algorithm);
  for (const part of parts) hash.update(part);
  return hash.digest();
};

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/**
 * mysql_native_password: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password)))
 * (protocol_connection_phase_authentication_methods_native_password_authentication).
 * An empty password is answered with an empty response.
 */
export function nativePasswordProof(password: string, nonce: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = digest('sha1', Buffer.from(password, 'utf8'));
  const stage2 = digest('sha1', stage1);
  return xor(stage1, digest('sha1', nonce, stage2));
}

/**
 * caching_sha2_password's fast path: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce)
 * (page_caching_sha2_authentication_exchanges). An empty password is answered with nothing.
 */
export function cachingSha2Proof(password: string, nonce: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = digest('sha256', Buffer.from(password, 'utf8'));
  const stage2 = digest('sha256', stage1);
  return xor(stage1, digest('sha256', stage2, nonce));
}

/**
 * What MySQL keeps for a mysql_native_password account (`authentication_string`):
 * `*` + upper-case hex SHA1(SHA1(password)). The `mysql_native_password` identity credential.
 */
export function nativePasswordHash(password: string): string {
  const stage2 = digest('sha1', digest('sha1', Buffer.from(password, 'utf8')));
  return `*${stage2.toString('hex').toUpperCase()}`;
}

/**
 * Checks a client's mysql_native_password response against a stored `*HEX` hash the way the
 * server does: SHA1(password) = proof XOR SHA1(nonce + stage2), and SHA1 of that must be
 * stage2. Constant time; false for anything malformed.
 */
export function nativeProofMatches(proof: Buffer, nonce: Buffer, storedHash: string): boolean {
  if (!/^\*[0-9A-F]{40}$/i.test(storedHash) || proof.length !== 20) return false;
  const stage2 = Buffer.from(storedHash.slice(1), 'hex');
  const stage1 = xor(proof, digest('sha1', nonce, stage2));
  return timingSafeEqual(digest('sha1', stage1), stage2);
}
