/**
 * Verifies one node's records as they reach the central store, under the node's row lock
 * (so several collectors may work on the same node one after another). A record is
 * stored only when it is the node's next sequence and sound: its leaf is the hash of its
 * body, the body names this sequence and node, and a `checkpoint` record's signed note
 * verifies with the node's key and commits to the root of exactly the records before it
 * (recomputed with the node's Merkle frontier, kept in `node_state`). A later sequence
 * waits in `pending` until its predecessors arrive (bounded per node). The first failure
 * marks the node broken with a finding; from then on its records go to `quarantine`.
 */
import { hostname } from 'node:os';
import { formatTimestampNs } from '../audit/clock.js';
import { Frontier, HASH_SIZE, leafHash, openCheckpoint } from '../audit/integrity.js';
import type { NoteVerifier } from '../audit/integrity.js';
import { centralRow, parseBody, type CentralRow } from './central-row.js';
import type { CentralTx, NodeState, PendingRecord } from './central-tx.js';
import type { ShippedCheckpoint, ShippedRecord } from './wire.js';

/** What became of one shipped message. */
export type IngestOutcome = 'stored' | 'duplicate' | 'pending' | 'quarantined' | 'retry';

export interface ChainOptions {
  /** Verifier keys by node name. */
  readonly keys: ReadonlyMap<string, readonly NoteVerifier[]>;
  /** Most records of one node waiting for a predecessor; beyond, messages are redelivered later. */
  readonly maxPendingPerNode: number;
  /** Names the collector in findings. */
  readonly collector: string;
}

const MAX_LEVEL = 53;
const DRAIN_PAGE = 2000;
const bitSet = (n: number, level: number): boolean => Math.floor(n / 2 ** level) % 2 === 1;

/** The frontier's subtree roots, largest first (the order Frontier.restore asks for them). */
export function serializeFrontier(f: Frontier): Buffer {
  const parts: Buffer[] = [];
  for (let level = MAX_LEVEL; level >= 0; level--) {
    if (!bitSet(f.size, level)) continue;
    const n = f.node(level);
    if (n === undefined) throw new Error(`frontier lacks level ${level}`);
    parts.push(n);
  }
  return Buffer.concat(parts);
}

export function restoreFrontier(size: number, bytes: Buffer): Frontier {
  const f = new Frontier();
  let k = 0;
  f.restore(size, () => {
    const part = bytes.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE);
    k++;
    if (part.length !== HASH_SIZE) throw new Error(`stored frontier too short for size ${size}`);
    return Buffer.from(part);
  });
  return f;
}

class Broken extends Error {
  constructor(
    readonly kind: string,
    readonly sequence: number,
    detail: string,
  ) {
    super(detail);
  }
}

/** Ingests one node's records and checkpoints of a batch, in the caller's transaction. */
export async function ingestNode(
  tx: CentralTx,
  node: string,
  records: readonly ShippedRecord[],
  checkpoints: readonly ShippedCheckpoint[],
  opts: ChainOptions,
): Promise<{ records: IngestOutcome[]; checkpoints: IngestOutcome[] }> {
  const state = await tx.lockNode(node);
  let broken = state.broken;
  let nextSeq = state.nextSeq;
  let checkpointSize = state.checkpointSize;
  const frontier = restoreFrontier(state.nextSeq, state.frontier);
  const rows: CentralRow[] = [];
  const verifiers = opts.keys.get(node) ?? [];
  let pendingCount: number | null = null;
  const checkpointsToStore: { size: number; root: Buffer; note: string; keyId: string }[] = [];

  const breakChain = async (b: Broken, rec: PendingRecord): Promise<void> => {
    broken = true;
    await tx.addFinding({
      node,
      sequence: b.sequence,
      kind: b.kind,
      detail: b.message,
      record: findingRecord(opts.collector, node, b),
    });
    await tx.quarantine(rec, b.kind);
    await tx.quarantinePending(node, `after ${b.kind} at ${b.sequence}`);
  };

  /** Checks `rec` as the next record and appends it; throws Broken. */
  const apply = (rec: PendingRecord): void => {
    if (verifiers.length === 0)
      throw new Broken('unknown-node', rec.sequence, `no verifier key for node ${node}`);
    let parsed: Record<string, unknown> | undefined;
    if (rec.body !== null) {
      if (!leafHash(rec.body).equals(rec.leafHash))
        throw new Broken('edited', rec.sequence, 'body does not match its leaf hash');
      parsed = parseBody(rec.body);
      const event = parsed?.event as Record<string, unknown> | undefined;
      if (event?.sequence !== rec.sequence)
        throw new Broken('sequence-mismatch', rec.sequence, 'body names another sequence');
      const observer = parsed?.observer as Record<string, unknown> | undefined;
      if (observer?.id !== node)
        throw new Broken('wrong-node', rec.sequence, `body comes from ${String(observer?.id)}`);
      if (event.action === 'checkpoint' && rec.note !== null) {
        const opened = openCheckpoint(rec.note, verifiers, node);
        if (!opened.ok) throw new Broken(opened.reason, rec.sequence, opened.detail);
        if (opened.size !== frontier.size)
          throw new Broken(
            'checkpoint-size',
            rec.sequence,
            `checkpoint of size ${opened.size} announced at sequence ${rec.sequence}`,
          );
        if (!opened.root.equals(frontier.root()))
          throw new Broken(
            'root-mismatch',
            rec.sequence,
            `root of the central records [0, ${opened.size}) differs from the signed checkpoint`,
          );
        checkpointSize = opened.size;
        checkpointsToStore.push({
          size: opened.size,
          root: opened.root,
          note: rec.note,
          keyId: opened.keyId,
        });
      }
    }
    frontier.append(rec.leafHash);
    rows.push(
      centralRow({
        node,
        sequence: rec.sequence,
        timestampNs: rec.timestampNs,
        body: rec.body,
        parsed,
        leafHash: rec.leafHash,
      }),
    );
    nextSeq++;
  };
  /** Applies `rec`; on a break records the finding and reports false. */
  const applyOrBreak = async (rec: PendingRecord): Promise<boolean> => {
    try {
      apply(rec);
      return true;
    } catch (err) {
      if (!(err instanceof Broken)) throw err;
      await breakChain(err, rec);
      return false;
    }
  };
  // The sequence at which `pending` was last found to have nothing: avoids asking again.
  let drainedAt = -1;
  /** Applies the run of stored pending records that continues the chain. */
  const drainPending = async (): Promise<void> => {
    while (!broken && drainedAt !== nextSeq) {
      const from = nextSeq;
      const run = await tx.pendingFrom(node, from, DRAIN_PAGE);
      for (const p of run) {
        if (p.sequence !== nextSeq || !(await applyOrBreak(p))) break;
      }
      if (nextSeq > from) await tx.deletePending(node, from, nextSeq);
      if (nextSeq === from || run.length < DRAIN_PAGE) drainedAt = nextSeq;
    }
  };
  const waiting: PendingRecord[] = [];
  const outcomes: IngestOutcome[] = [];
  for (const r of records) {
    const rec: PendingRecord = { ...r };
    if (!broken && rec.sequence > nextSeq) await drainPending();
    if (broken) {
      await tx.quarantine(rec, 'node chain broken earlier');
      outcomes.push('quarantined');
      continue;
    }
    if (rec.sequence < nextSeq) {
      const stored =
        rows.find((x) => x.sequence === rec.sequence)?.leafHash ??
        (await tx.storedLeaf(node, rec.sequence));
      if (stored !== null && !stored.equals(rec.leafHash)) {
        await breakChain(
          new Broken(
            'conflicting-record',
            rec.sequence,
            'a different record for a stored sequence',
          ),
          rec,
        );
        outcomes.push('quarantined');
      } else outcomes.push('duplicate');
      continue;
    }
    if (rec.sequence > nextSeq) {
      pendingCount ??= await tx.pendingCount(node);
      if (pendingCount + waiting.length >= opts.maxPendingPerNode) {
        outcomes.push('retry');
        continue;
      }
      waiting.push(rec);
      outcomes.push('pending');
      continue;
    }
    outcomes.push((await applyOrBreak(rec)) ? 'stored' : 'quarantined');
  }
  if (!broken) {
    await drainPending();
    await tx.addPending(waiting);
  } else {
    for (const w of waiting) await tx.quarantine(w, 'node chain broken earlier');
  }

  const cpOutcomes: IngestOutcome[] = [];
  for (const c of checkpoints) {
    const opened = openCheckpoint(c.note, verifiers, node);
    if (!opened.ok) {
      if (!broken) {
        broken = true;
        const b = new Broken(
          verifiers.length === 0 ? 'unknown-node' : opened.reason,
          c.size,
          opened.detail,
        );
        await tx.addFinding({
          node,
          sequence: c.size,
          kind: b.kind,
          detail: b.message,
          record: findingRecord(opts.collector, node, b),
        });
        await tx.quarantinePending(node, `after ${b.kind} at ${c.size}`);
      }
      cpOutcomes.push('quarantined');
      continue;
    }
    checkpointsToStore.push({
      size: opened.size,
      root: opened.root,
      note: c.note,
      keyId: opened.keyId,
    });
    cpOutcomes.push('stored');
  }

  await tx.insertRecords(rows);
  for (const c of checkpointsToStore) await tx.addCheckpoint(node, c.size, c.root, c.note, c.keyId);
  const next: NodeState = {
    node,
    nextSeq,
    frontier: serializeFrontier(frontier),
    broken,
    checkpointSize,
  };
  await tx.saveNode(next);
  return { records: outcomes, checkpoints: cpOutcomes };
}

function findingRecord(collector: string, node: string, b: Broken): Record<string, unknown> {
  return {
    '@timestamp': formatTimestampNs(BigInt(Date.now()) * 1_000_000n),
    event: {
      action: 'audit-finding',
      kind: 'alert',
      category: ['configuration'],
      type: ['info'],
      outcome: 'failure',
      module: 'collector',
      reason: b.message,
    },
    finding: { kind: `chain-${b.kind}`, node, sequence: b.sequence, detail: b.message },
    observer: { hostname: hostname(), id: collector },
  };
}
