/**
 * A naive, recursive RFC 6962 §2.1 Merkle tree used as the oracle in tests. It shares no
 * code with src/audit: hashes are built directly with node:crypto.
 */
import { createHash } from 'node:crypto';

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256(0x00 ‖ d) — RFC 6962 §2.1. */
export function naiveLeaf(d: Uint8Array): Buffer {
  return sha256(Buffer.from([0]), d);
}

/** SHA-256(0x01 ‖ l ‖ r) — RFC 6962 §2.1. */
export function naiveNode(l: Uint8Array, r: Uint8Array): Buffer {
  return sha256(Buffer.from([1]), l, r);
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes — RFC 6962 §2.1. */
export function naiveRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0] ?? sha256();
  const k = split(leaves.length);
  return naiveNode(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

/** PATH(m, D[n]) — RFC 6962 §2.1.1. */
export function naivePath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...naivePath(m, leaves.slice(0, k)), naiveRoot(leaves.slice(k))];
  return [...naivePath(m - k, leaves.slice(k)), naiveRoot(leaves.slice(0, k))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true) — RFC 6962 §2.1.2. */
export function naiveConsistency(m: number, leaves: readonly Buffer[]): Buffer[] {
  return sub(m, leaves, true);
}

function sub(m: number, leaves: readonly Buffer[], b: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [naiveRoot(leaves)];
  const k = split(n);
  if (m <= k) return [...sub(m, leaves.slice(0, k), b), naiveRoot(leaves.slice(k))];
  return [...sub(m - k, leaves.slice(k), false), naiveRoot(leaves.slice(0, k))];
}
