/**
 * Coalesces the byte ranges a session forwards into as few writes as possible: ranges that
 * are adjacent in memory (consecutive packets of one chunk, the usual case) become one view
 * and one write per chunk instead of one per packet. A dropped packet (a denial) simply
 * breaks the run. Nothing is copied.
 */
export class Forwarder {
  private memory: ArrayBufferLike | null = null;
  private runStart = 0;
  private runEnd = 0;

  constructor(private readonly write: (bytes: Buffer) => void) {}

  /** Forward `source[start, end)`, after everything added before. */
  add(source: Buffer, start: number, end: number): void {
    if (end <= start) return;
    const absoluteStart = source.byteOffset + start;
    if (this.memory === source.buffer && this.runEnd === absoluteStart) {
      this.runEnd = source.byteOffset + end;
      return;
    }
    this.flush();
    this.memory = source.buffer;
    this.runStart = absoluteStart;
    this.runEnd = source.byteOffset + end;
  }

  /** Forward a whole buffer. */
  addBuffer(bytes: Buffer): void {
    this.add(bytes, 0, bytes.length);
  }

  /** Write the pending run (call before writing anything else in the same direction). */
  flush(): void {
    if (this.memory === null) return;
    const view = Buffer.from(this.memory, this.runStart, this.runEnd - this.runStart);
    this.memory = null;
    this.write(view);
  }
}
