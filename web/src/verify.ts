/**
 * Checking an inclusion proof in the browser with WebCrypto, trusting nothing the server
 * computed: leaf = SHA-256(0x00 ‖ canonical bytes), then the RFC 9162 §2.1.3.2 path walk to
 * the root, compared with the signed checkpoint's root (when one covers the record).
 */

export interface ProofJson {
  readonly leaf_index: number;
  readonly tree_size: number;
  readonly leaf_hash: string;
  readonly path: readonly string[];
  readonly root: string;
  readonly checkpoint: {
    readonly size: number;
    readonly root: string;
    readonly note: string;
  } | null;
}

export type Verdict =
  | { readonly ok: true; readonly signed: boolean; readonly index: number; readonly size: number }
  | { readonly ok: false; readonly reason: string };

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export async function verifyInclusion(canonical: string, proof: ProofJson): Promise<Verdict> {
  const leaf = await sha256(LEAF, new TextEncoder().encode(canonical));
  if (hex(leaf) !== proof.leaf_hash)
    return { ok: false, reason: 'the record does not hash to its leaf' };
  let fn = proof.leaf_index;
  let sn = proof.tree_size - 1;
  if (fn > sn) return { ok: false, reason: 'leaf index outside the tree' };
  let r = leaf;
  for (const h of proof.path) {
    if (sn === 0) return { ok: false, reason: 'proof longer than the path' };
    const p = unhex(h);
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(NODE, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(NODE, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return { ok: false, reason: 'proof shorter than the path' };
  const root = hex(r);
  if (root !== proof.root) return { ok: false, reason: 'the path does not lead to the root' };
  if (proof.checkpoint !== null && proof.checkpoint.root !== root)
    return { ok: false, reason: 'the root differs from the signed checkpoint' };
  return {
    ok: true,
    signed: proof.checkpoint !== null,
    index: proof.leaf_index,
    size: proof.tree_size,
  };
}
