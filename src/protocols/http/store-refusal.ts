/**
 * A new HTTP connection while the audit store is unavailable: its first request head is
 * answered `503 Service Unavailable` with `Retry-After` and `Connection: close`, and the
 * connection ends. Nothing reaches the target.
 */
import type { ConnectionRefusal, RefusalContext } from '../session.js';
import { DEFAULT_HEAD_LIMITS } from './head-parser.js';
import { serializeStoreRefusal } from './serializer.js';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

class HttpStoreRefusal implements ConnectionRefusal {
  /** The request head read so far, at most `maxHeadBytes` (then answered anyway). */
  private head: Buffer = Buffer.alloc(0);
  private finished = false;

  constructor(private readonly ctx: RefusalContext) {}

  start(): void {
    // The client speaks first.
  }

  onClientData(chunk: Buffer): void {
    if (this.finished) return;
    const room = DEFAULT_HEAD_LIMITS.maxHeadBytes - this.head.length;
    this.head = Buffer.concat([this.head, chunk.subarray(0, Math.max(room, 0))]);
    const complete = this.head.includes(HEAD_END);
    if (!complete && this.head.length < DEFAULT_HEAD_LIMITS.maxHeadBytes) return;
    this.finished = true;
    // A response to HEAD carries no body (RFC 9110 §9.3.2).
    const isHead = this.head.subarray(0, 5).toString('latin1') === 'HEAD ';
    this.ctx.toClient(serializeStoreRefusal({ close: true, head: isHead }));
    this.ctx.done();
  }
}

export const refuseHttpConnection = (ctx: RefusalContext): ConnectionRefusal =>
  new HttpStoreRefusal(ctx);
