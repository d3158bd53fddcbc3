/**
 * Verify the log of a running gateway without holding its event loop: on the embedded
 * store the check runs in a worker thread with its own read-only connection (a 10M-record
 * log takes over a minute); other stores are checked inline.
 */
import { Worker } from 'node:worker_threads';
import { PortwardenError } from '../errors.js';
import { SqliteStore, type Store } from '../store/index.js';
import { workerScript } from '../worker-script.js';
import { storeLogSource } from './store-log.js';
import { verifyLog, type VerifyResult } from './verify.js';
import type { VerifyWorkerData } from './verify-worker.js';

export interface VerifyKey {
  readonly verifierKey: string;
  readonly name: string;
}

export function verifyInWorker(store: Store, key: VerifyKey): Promise<VerifyResult> {
  if (!(store instanceof SqliteStore) || store.path === ':memory:') {
    const source = storeLogSource(store);
    try {
      return Promise.resolve(
        verifyLog(source, { verifierKeys: [key.verifierKey], origin: key.name }),
      );
    } finally {
      source.release();
    }
  }
  const data: VerifyWorkerData = {
    path: store.path,
    verifierKeys: [key.verifierKey],
    origin: key.name,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript(import.meta.url, 'verify-worker'), {
      eval: true,
      workerData: data,
    });
    let settled = false;
    worker.once(
      'message',
      (m: { ok: true; result: VerifyResult } | { ok: false; message: string }) => {
        settled = true;
        if (m.ok) resolve(m.result);
        else reject(new PortwardenError('PW_ERR_STORE', { detail: `verify: ${m.message}` }));
      },
    );
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled)
        reject(new PortwardenError('PW_ERR_STORE', { detail: `verify worker exited (${code})` }));
      settled = true;
    });
  });
}
