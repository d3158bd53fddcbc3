/**
 * Verifies one node's chain as the central store holds it, from sequence 0: every leaf
 * recomputed from its body, sequences contiguous and named by the body, the root
 * recomputed at each stored checkpoint and each signature checked with the node's key.
 * Streams the node's records page by page; memory is one Merkle frontier.
 */
import { Frontier, HASH_SIZE, leafHash, openCheckpoint } from '../audit/integrity.js';
import type { OpenedCheckpoint, TamperKind, VerifyResult } from '../audit/integrity.js';
import { parseBody } from './central-row.js';
import type { CentralStore } from './pg-store.js';

export async function verifyCentralNode(
  store: CentralStore,
  node: string,
  verifierKeys: readonly string[],
): Promise<VerifyResult> {
  const checkpoints = await store.checkpoints(node);
  const opened: OpenedCheckpoint[] = [];
  for (const [i, c] of checkpoints.entries()) {
    const o = openCheckpoint(c.note, verifierKeys, node);
    if (!o.ok) {
      const kind: TamperKind = o.reason === 'unknown-key' ? 'unknown-key' : 'bad-signature';
      return fail(kind, c.size, `central checkpoint #${i} (size ${c.size}): ${o.detail}`);
    }
    if (o.size !== c.size)
      return fail(
        'bad-signature',
        c.size,
        `checkpoint row size ${c.size} differs from its note (${o.size})`,
      );
    opened.push(o);
  }
  const frontier = new Frontier();
  let cp = 0;
  let prunedFrom = -1;
  let prunedTo = -1;
  const checkRoots = (): VerifyResult | null => {
    for (let c = opened[cp]; c !== undefined && c.size === frontier.size; c = opened[++cp]) {
      if (!frontier.root().equals(c.root))
        return fail(
          'root-mismatch',
          c.size,
          `root of central records [0, ${c.size}) differs from checkpoint #${cp}`,
        );
    }
    return null;
  };
  const early = checkRoots();
  if (early) return early;
  for await (const r of store.iterateNode(node)) {
    const pos = frontier.size;
    if (r.sequence !== pos) {
      return r.sequence > pos
        ? fail('deleted', pos, `sequence jumps from ${pos - 1} to ${r.sequence}`)
        : fail('inserted', pos, `sequence ${r.sequence} appears again at position ${pos}`);
    }
    if (r.leafHash.length !== HASH_SIZE)
      return fail('edited', pos, 'stored leaf hash is malformed');
    if (r.body === null) {
      if (prunedFrom < 0) prunedFrom = pos;
      prunedTo = pos;
    } else {
      if (!leafHash(r.body).equals(r.leafHash))
        return fail('edited', pos, 'body does not match its leaf hash');
      const event = parseBody(r.body)?.event as Record<string, unknown> | undefined;
      if (event?.sequence !== pos) return fail('edited', pos, 'body names another sequence');
    }
    frontier.append(r.leafHash);
    const bad = checkRoots();
    if (bad) return bad;
  }
  const last = opened[cp];
  if (last !== undefined)
    return fail(
      'truncated',
      frontier.size,
      `checkpoint of size ${last.size}, central records end at ${frontier.size}`,
    );
  return {
    ok: true,
    size: frontier.size,
    checkpoints: opened.length,
    pruned: prunedFrom < 0 ? null : { from: prunedFrom, to: prunedTo },
  };
}

function fail(kind: TamperKind, sequence: number, detail: string): VerifyResult {
  return { ok: false, kind, sequence, detail };
}
