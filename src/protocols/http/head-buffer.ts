/**
 * Collects the bytes of one head until the empty line (CRLF CRLF), bounded. A head inside
 * one chunk is handed out as a view without copying; one spread over chunks is copied into
 * a buffer allocated once per head (never grown per byte), and the view of it is handed out.
 */
import { HttpProtocolError } from './messages.js';
import type { HeadLimits } from './head-parser.js';

const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');

export class HeadBuffer {
  private store: Buffer | undefined;
  private filled = 0;
  /** The last complete head, valid until the next `feed`. */
  head: Buffer = Buffer.alloc(0);

  constructor(
    private readonly limits: HeadLimits,
    /** Status for an over-long first line: 414 for requests. */
    private readonly startLineStatus: 400 | 414,
  ) {}

  /** Bytes held for an unfinished head. */
  get pending(): number {
    return this.filled;
  }

  /**
   * Takes head bytes from `chunk` at `start`; returns the offset just past the head (the
   * head is then in `head`), or -1 when the rest of the chunk was kept and more is needed.
   */
  feed(chunk: Buffer, start: number): number {
    const max = this.limits.maxHeadBytes;
    if (this.filled === 0) {
      const at = chunk.indexOf(END_OF_HEAD, start);
      if (at >= 0 && at + 4 - start <= max) {
        this.head = chunk.subarray(start, at + 4);
        return at + 4;
      }
      const take = Math.min(chunk.length - start, max);
      this.checkStartLine(chunk, start, start + take);
      if (at >= 0 || chunk.length - start > max) this.tooLarge();
      this.store = Buffer.allocUnsafe(max);
      chunk.copy(this.store, 0, start);
      this.filled = chunk.length - start;
      return -1;
    }
    const store = this.store ?? Buffer.allocUnsafe(max);
    this.store = store;
    const before = this.filled;
    const take = Math.min(chunk.length - start, max - before);
    chunk.copy(store, before, start, start + take);
    this.filled += take;
    const at = store.subarray(0, this.filled).indexOf(END_OF_HEAD, Math.max(0, before - 3));
    if (at >= 0) {
      this.head = store.subarray(0, at + 4);
      this.store = undefined;
      this.filled = 0;
      return start + (at + 4 - before);
    }
    this.checkStartLine(store, 0, this.filled);
    if (this.filled >= max) this.tooLarge();
    return -1;
  }

  /** Forget a partial head (after an error). */
  reset(): void {
    this.store = undefined;
    this.filled = 0;
  }

  private checkStartLine(buf: Buffer, start: number, end: number): void {
    const lineMax = this.limits.maxStartLineBytes;
    if (end - start <= lineMax) return;
    const lf = buf.indexOf(0x0a, start);
    if (lf < 0 || lf - start > lineMax + 1) {
      throw new HttpProtocolError('start line too long', this.startLineStatus);
    }
  }

  private tooLarge(): never {
    throw new HttpProtocolError('head too large', 431);
  }
}
