/**
 * The password proofs the gateway sends when it logs in to a MySQL/MariaDB target. Both
 * prove the password against the server's 20-byte nonce without sending it.
 */
import { createHash } from 'node:crypto';

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
