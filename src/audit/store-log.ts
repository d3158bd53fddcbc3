/** Adapts the Store to what `verifyLog` reads, and finds the node's key in a data dir. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortwardenError } from '../errors.js';
import type { Store } from '../store/index.js';
import { NODE_KEY_FILE, loadOrCreateNodeKey, type NodeKey } from './node-key.js';
import type { LogSource } from './verify.js';

/** A LogSource over the store; `release()` ends an iteration verify stopped early. */
export function storeLogSource(store: Store): LogSource & { release(): void } {
  const open = new Set<Iterator<unknown>>();
  return {
    size: () => store.nextSequence(),
    *records(from: number) {
      const it = store.iterateLeaves?.(from) ?? store.iterate(from);
      open.add(it);
      try {
        for (const r of it) yield { sequence: r.sequence, body: r.body, leafHash: r.leafHash };
      } finally {
        open.delete(it);
      }
    },
    release: () => {
      for (const it of open) it.return?.();
      open.clear();
    },
    checkpoints: () => store.checkpoints().map((c) => ({ note: c.note })),
    getNode: (level, index) => store.getNode(level, index),
  };
}

/** The node key of an existing data dir (never creates one). */
export function readNodeKey(dataDir: string): NodeKey {
  const path = join(dataDir, NODE_KEY_FILE);
  if (!existsSync(path))
    throw new PortwardenError('PW_ERR_KEY', { detail: `no node key at ${path}` });
  // The signer key string is PRIVATE+KEY+<name>+<id>+<key>; the name is the node's origin.
  const name = readFileSync(path, 'utf8').trim().split('+')[2] ?? '';
  return loadOrCreateNodeKey(dataDir, name);
}
