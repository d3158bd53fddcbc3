import { ProtocolError } from '../../errors.js';

/** A bounds-checked cursor over one message body; every overrun is a ProtocolError. */
export class BufferReader {
  private offset = 0;

  constructor(
    private readonly buffer: Buffer,
    private readonly what: string,
  ) {}

  /** Bytes left to read. */
  remaining(): number {
    return this.buffer.length - this.offset;
  }

  byte(): number {
    this.need(1);
    const value = this.buffer[this.offset] ?? 0;
    this.offset += 1;
    return value;
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A NUL-terminated string; the scan never passes the end of the body. */
  cstring(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw this.fail('string without terminator');
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  /** A view of the next `length` bytes (not a copy: copy before keeping it). */
  bytes(length: number): Buffer {
    if (length < 0) throw this.fail(`negative length ${length}`);
    this.need(length);
    const view = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** The rest of the body as a view. */
  rest(): Buffer {
    const view = this.buffer.subarray(this.offset);
    this.offset = this.buffer.length;
    return view;
  }

  /** Insists the body was consumed exactly. */
  end(): void {
    if (this.offset !== this.buffer.length) {
      throw this.fail(`${this.buffer.length - this.offset} trailing bytes`);
    }
  }

  private need(count: number): void {
    if (this.offset + count > this.buffer.length) {
      throw this.fail(
        `needs ${count} bytes at offset ${this.offset}, body has ${this.buffer.length}`,
      );
    }
  }

  private fail(detail: string): ProtocolError {
    return new ProtocolError('postgres', `${this.what}: ${detail}`);
  }
}
