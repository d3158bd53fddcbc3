import { ProtocolError } from '../../errors.js';

/** A bounds-checked little-endian cursor over one packet payload; every overrun is a ProtocolError. */
export class PacketReader {
  private offset: number;

  constructor(
    private readonly buffer: Buffer,
    private readonly what: string,
    start = 0,
  ) {
    this.offset = start;
  }

  /** Bytes left to read. */
  remaining(): number {
    return this.buffer.length - this.offset;
  }

  /** The current payload offset. */
  position(): number {
    return this.offset;
  }

  int1(): number {
    this.need(1);
    const value = this.buffer[this.offset] ?? 0;
    this.offset += 1;
    return value;
  }

  int2(): number {
    this.need(2);
    const value = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return value;
  }

  int3(): number {
    this.need(3);
    const value = this.buffer.readUIntLE(this.offset, 3);
    this.offset += 3;
    return value;
  }

  int4(): number {
    this.need(4);
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  /** An 8-byte integer: a number when safe, else a bigint. */
  int8(): number | bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64LE(this.offset);
    this.offset += 8;
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  /** An 8-byte integer as a bigint, signed or unsigned. */
  bigint8(unsigned: boolean): bigint {
    this.need(8);
    const value = unsigned
      ? this.buffer.readBigUInt64LE(this.offset)
      : this.buffer.readBigInt64LE(this.offset);
    this.offset += 8;
    return value;
  }

  float4(): number {
    this.need(4);
    const value = this.buffer.readFloatLE(this.offset);
    this.offset += 4;
    return value;
  }

  float8(): number {
    this.need(8);
    const value = this.buffer.readDoubleLE(this.offset);
    this.offset += 8;
    return value;
  }

  /** A length-encoded integer (protocol_basic_dt_integers: 0xFC int2, 0xFD int3, 0xFE int8). */
  lenenc(): number | bigint {
    const first = this.int1();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.int2();
    if (first === 0xfd) return this.int3();
    if (first === 0xfe) return this.int8();
    throw this.fail(`invalid length-encoded integer prefix 0x${first.toString(16)}`);
  }

  /** A length-encoded integer that must fit in the payload (a length of something that follows). */
  lenencLength(): number {
    const value = this.lenenc();
    if (typeof value === 'bigint' || value > this.remaining()) {
      throw this.fail(`declared length ${value} exceeds the ${this.remaining()} bytes left`);
    }
    return value;
  }

  /** A length-encoded string, decoded as UTF-8. */
  lenencString(): string {
    const length = this.lenencLength();
    return this.string(length);
  }

  /** `length` bytes decoded as UTF-8. */
  string(length: number): string {
    this.need(length);
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** A NUL-terminated string; the scan never passes the end of the payload. */
  nulString(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw this.fail('string without terminator');
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  /** A NUL-terminated string, or the rest of the payload when the terminator is missing. */
  nulStringOrRest(): string {
    const end = this.buffer.indexOf(0, this.offset);
    const stop = end < 0 ? this.buffer.length : end;
    const value = this.buffer.toString('utf8', this.offset, stop);
    this.offset = end < 0 ? stop : end + 1;
    return value;
  }

  /** The rest of the payload as UTF-8. */
  restString(): string {
    const value = this.buffer.toString('utf8', this.offset);
    this.offset = this.buffer.length;
    return value;
  }

  skip(count: number): void {
    this.need(count);
    this.offset += count;
  }

  private need(count: number): void {
    if (count < 0 || this.offset + count > this.buffer.length) {
      throw this.fail(
        `needs ${count} bytes at offset ${this.offset}, payload has ${this.buffer.length}`,
      );
    }
  }

  fail(detail: string): ProtocolError {
    return new ProtocolError('mysql', `${this.what}: ${detail}`);
  }
}
