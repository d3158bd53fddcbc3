/**
 * Calls into an async worker thread from synchronous code (the technique of synckit).
 *
 * The caller posts a request on a MessagePort and blocks in `Atomics.wait` on a shared
 * Int32 until the worker has posted its answer and flipped the flag; the answer is then
 * taken off the port with `receiveMessageOnPort`, which needs no event-loop turn. One
 * request is outstanding at a time (the caller is blocked), and the worker handles them in
 * order. A call that gets no answer within its timeout throws; a late answer is recognised
 * by its id and dropped.
 *
 * The worker side is `serveBridge(handlers)`: each handler is async and returns a
 * structured-cloneable value (Buffers arrive as Uint8Arrays).
 */
import {
  MessageChannel,
  type MessagePort,
  Worker,
  isMainThread,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from 'node:worker_threads';
import { workerScript } from '../../worker-script.js';
import { PortwardenError, errorMessage, type ErrorCode } from '../../errors.js';

interface Request {
  readonly id: number;
  readonly op: string;
  readonly args: unknown;
}

type Response =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly message: string;
      readonly code?: ErrorCode;
      readonly params?: Record<string, string | number>;
    };

interface Init {
  readonly port: MessagePort;
  readonly flag: Int32Array;
  readonly data: unknown;
}

export interface BridgeOptions {
  /** Longest a call may block before it throws (PW_ERR_STORE). */
  readonly timeoutMs: number;
  /** Passed to the worker (`bridgeData()` there). */
  readonly data: unknown;
}

/**
 * The worker `name` next to `from` (src/worker-script.ts). A script that fails to load
 * answers every call with its error (id 0) instead of leaving the caller to time out.
 */
export function bridgeWorkerScript(from: string, name: string): string {
  return workerScript(
    from,
    name,
    `const { port, flag } = require('node:worker_threads').workerData;
  port.postMessage({ id: 0, ok: false, message: 'store worker failed to start: ' + String((err && err.message) || err) });
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);`,
  );
}

export class SyncBridge {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private readonly timeoutMs: number;
  private nextId = 1;
  private closed = false;
  /** The worker's start-up failure, answered to every call. */
  private failed: Response | null = null;

  /** `script`: worker code from bridgeWorkerScript(). */
  constructor(script: string, options: BridgeOptions) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.flag = new Int32Array(new SharedArrayBuffer(4));
    this.timeoutMs = options.timeoutMs;
    const init: Init = { port: port2, flag: this.flag, data: options.data };
    this.worker = new Worker(script, {
      eval: true,
      workerData: init,
      transferList: [port2],
    });
    // The worker never keeps the process alive; `close()` ends it.
    this.worker.unref();
    // A worker that dies after start-up is seen by the next call (it times out).
    this.worker.on('error', () => undefined);
  }

  /** Runs `op` in the worker and returns its value, blocking this thread meanwhile. */
  call<T>(op: string, args?: unknown, timeoutMs = this.timeoutMs): T {
    if (this.closed) throw new PortwardenError('PW_ERR_STORE', { detail: 'store is closed' });
    if (this.failed !== null) return unwrap<T>(this.failed);
    const id = this.nextId++;
    const deadline = Date.now() + timeoutMs;
    this.port.postMessage({ id, op, args } satisfies Request);
    for (;;) {
      // Reset before draining: an answer posted after the drain sets the flag again, so
      // the wait below cannot miss it.
      Atomics.store(this.flag, 0, 0);
      for (;;) {
        const m = receiveMessageOnPort(this.port) as { message: Response } | undefined;
        if (m === undefined) break;
        if (m.message.id === id) return unwrap<T>(m.message);
        if (m.message.id === 0) {
          this.failed = m.message;
          return unwrap<T>(m.message);
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.flag, 0, 0, left) === 'timed-out') {
        throw new PortwardenError('PW_ERR_STORE', {
          detail: `no answer from the store worker within ${timeoutMs} ms (${op})`,
        });
      }
    }
  }

  /** Ends the worker (after running `op`, if given, to let it close its connection). */
  close(op?: string): void {
    if (this.closed) return;
    try {
      if (op !== undefined) this.call(op, undefined, 5000);
    } catch {
      // Closing anyway.
    } finally {
      this.closed = true;
      this.port.close();
      void this.worker.terminate();
    }
  }
}

function unwrap<T>(r: Response): T {
  if (r.ok) return r.value as T;
  if (r.code !== undefined) throw new PortwardenError(r.code, r.params ?? {});
  throw new PortwardenError('PW_ERR_STORE', { detail: r.message });
}

export type Handlers = Record<string, (args: never) => Promise<unknown>>;

/** The `data` the main thread passed in BridgeOptions (worker side). */
export function bridgeData<T>(): T {
  return (workerData as Init).data as T;
}

/** Worker side: answers requests with `handlers`, one at a time, in order. */
export function serveBridge(handlers: Handlers): void {
  if (isMainThread || parentPort === null) throw new Error('serveBridge runs in a worker');
  const { port, flag } = workerData as Init;
  let chain = Promise.resolve();
  port.on('message', (req: Request) => {
    chain = chain.then(async () => {
      let res: Response;
      try {
        const handler = handlers[req.op];
        if (handler === undefined) throw new Error(`unknown operation ${req.op}`);
        res = { id: req.id, ok: true, value: await handler(req.args as never) };
      } catch (err) {
        res =
          err instanceof PortwardenError
            ? { id: req.id, ok: false, message: err.message, code: err.code, params: err.params }
            : { id: req.id, ok: false, message: errorMessage(err) };
      }
      port.postMessage(res);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    });
  });
}
