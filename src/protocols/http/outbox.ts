/**
 * Coalesces the views the parsers hand out into as few writes as possible: consecutive
 * views that are adjacent in memory (pieces of one incoming chunk) become one write. A
 * pipelined burst of N requests is then one `toUpstream` instead of 2N.
 */
export class Outbox {
  private pending: Buffer | undefined;
  private length = 0;

  constructor(private readonly send: (bytes: Buffer) => void) {}

  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const p = this.pending;
    if (
      p !== undefined &&
      bytes.buffer === p.buffer &&
      bytes.byteOffset === p.byteOffset + this.length
    ) {
      this.length += bytes.length;
      return;
    }
    this.flush();
    this.pending = bytes;
    this.length = bytes.length;
  }

  flush(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    this.send(p.length === this.length ? p : Buffer.from(p.buffer, p.byteOffset, this.length));
  }
}
