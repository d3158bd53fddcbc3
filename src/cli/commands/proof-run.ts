/**
 * `portwarden proof` and `verify --bundle` when they run (proof.ts defines the command; this
 * loads the Merkle tree, the bundle code and the store).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  makeConsistencyBundle,
  makeProofBundle,
  verifyBundle,
  verifyConsistencyBundle,
} from '../../audit/bundle.js';
import { readNodeKey } from '../../audit/store-log.js';
import { MerkleTree } from '../../audit/integrity.js';
import { PortwardenError, errorMessage } from '../../errors.js';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import { usage } from '../io.js';
import type { ProofFlags } from './proof.js';

/** `verify --bundle`: check an exported bundle with no data dir. */
export function verifyBundleFile(
  file: string,
  trustedKeys: readonly string[],
  json: boolean,
): number {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new PortwardenError(
      'PW_ERR_VERIFY_INPUT',
      { detail: `${file}: ${errorMessage(err)}` },
      { cause: err },
    );
  }
  const isConsistency = typeof input === 'object' && input !== null && 'size1' in input;
  const attempts = trustedKeys.length > 0 ? trustedKeys.map((k) => ({ verifierKey: k })) : [{}];
  let result = isConsistency
    ? verifyConsistencyBundle(input, attempts[0])
    : verifyBundle(input, attempts[0]);
  for (const opts of attempts.slice(1)) {
    if (result.ok) break;
    result = isConsistency ? verifyConsistencyBundle(input, opts) : verifyBundle(input, opts);
  }
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else if (result.ok) {
    const trust =
      trustedKeys.length > 0
        ? 'a trusted key'
        : 'the key inside the bundle (pass --key to pin the node key)';
    process.stdout.write(
      `ok: ${isConsistency ? 'consistency' : 'inclusion'} proof verified against a checkpoint of ${result.size} records signed by ${result.keyName} (${trust})\n`,
    );
  } else process.stdout.write(`INVALID: ${result.detail}\n`);
  return result.ok ? 0 : 1;
}

export async function runProof(
  sequence: string | undefined,
  flags: ProofFlags,
  command: Command,
): Promise<number> {
  const dataDir = await dataDirFromOptions(command);
  const key = readNodeKey(dataDir);
  const store = openStoreForReading(dataDir);
  try {
    const tree = new MerkleTree(store, store.nextSequence());
    const checkpoints = store.checkpoints();
    let bundle: unknown;
    if (flags.consistency) {
      const [a, b] = flags.consistency.map(Number);
      if (
        flags.consistency.length !== 2 ||
        a === undefined ||
        b === undefined ||
        !(a > 0 && b >= a)
      ) {
        throw usage('--consistency takes two checkpoint sizes, SIZE1 <= SIZE2');
      }
      const c1 = checkpoints.find((c) => c.size === a);
      const c2 = checkpoints.find((c) => c.size === b);
      if (!c1 || !c2)
        throw new PortwardenError('PW_ERR_NOT_FOUND', {
          what: `signed checkpoints of sizes ${a} and ${b} (have: ${checkpoints.map((c) => c.size).join(', ')})`,
        });
      bundle = makeConsistencyBundle({
        checkpoint1: c1.note,
        checkpoint2: c2.note,
        proof: tree.consistencyProof(a, b),
        verifierKey: key.verifierKey,
      });
    } else {
      const seq = Number(sequence);
      if (sequence === undefined || !Number.isInteger(seq) || seq < 0)
        throw usage('proof needs a record sequence (or --consistency SIZE1 SIZE2)');
      const row = store.getBySequence(seq);
      if (!row) throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `record ${seq}` });
      if (row.body === null)
        throw new PortwardenError('PW_ERR_NOT_FOUND', {
          what: `body of record ${seq} (pruned)`,
        });
      const cp = checkpoints.find((c) => c.size > seq);
      if (!cp)
        throw new PortwardenError('PW_ERR_NOT_FOUND', {
          what: `a signed checkpoint covering record ${seq} yet (one is made every checkpoint_interval)`,
        });
      bundle = makeProofBundle({
        record: row.body,
        sequence: seq,
        path: tree.inclusionProof(seq, cp.size),
        checkpoint: cp.note,
        verifierKey: key.verifierKey,
      });
    }
    const text = JSON.stringify(bundle, null, 2) + '\n';
    if (flags.out) writeFileSync(flags.out, text);
    else process.stdout.write(text);
    return 0;
  } finally {
    store.close();
  }
}
