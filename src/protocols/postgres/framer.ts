import { ProtocolError } from '../../errors.js';

/**
 * Finds message boundaries in one direction of a PostgreSQL connection from the headers
 * alone. Bodies of types the session decodes are handed over whole (zero-copy when they lie
 * in one chunk); bodies of the rest are passed through by count and never buffered.
 */

/** How the framer treats a type byte. */
export const FrameKind = {
  Invalid: 0,
  Decode: 1,
  Skip: 2,
} as const;

/** Startup-phase packets are capped by the server at 10000 bytes (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET = 10_000;

/** PostgreSQL's own cap for one message (PQ_LARGE_MESSAGE_LIMIT, 1 GiB - 1). */
export const MAX_STREAMED_MESSAGE = 0x3fff_ffff;

export interface FramerLimits {
  /** Largest declared length of a message whose body is decoded (buffered). */
  readonly maxMessageBytes: number;
  /** Largest declared length of a message passed through by count (DataRow, CopyData). */
  readonly maxStreamedBytes: number;
}

/** Receives what the framer finds; offsets are into the chunk being pushed. */
export interface FrameSink {
  /** A whole decodable message; `raw` is the whole frame, `end` the chunk offset just past it. */
  frame(code: number, body: Buffer, raw: Buffer, end: number): void;
  /** The header of a message whose body follows by count; `end` is just past the header. */
  skipStart(code: number, bodyLength: number, end: number): void;
  /** Body bytes of the current skipped message: `chunk[start, end)`. */
  skipBytes(chunk: Buffer, start: number, end: number): void;
  /** The skipped message is over; `end` is the chunk offset just past it. */
  skipEnd(end: number): void;
}

export class Framer {
  private startup: boolean;
  /** Header bytes split across chunks (at most 5). */
  private readonly headerScratch = Buffer.alloc(5);
  private headerHave = 0;
  /** Copies of the pieces of a decodable message split across chunks. */
  private pieces: Buffer[] = [];
  private piecesHave = 0;
  private pendingCode = 0;
  private pendingFrameLength = 0;
  private pendingHeaderLength = 0;
  private skipLeft = 0;

  constructor(
    private readonly kinds: Uint8Array,
    private readonly limits: FramerLimits,
    private readonly sink: FrameSink,
    private readonly direction: string,
    startup: boolean,
  ) {
    this.startup = startup;
  }

  /** After the StartupMessage every message carries a type byte. */
  setTyped(): void {
    this.startup = false;
  }

  /** True when no message is partly read (a safe point to inject bytes of our own). */
  atBoundary(): boolean {
    return (
      this.headerHave === 0 &&
      this.piecesHave === 0 &&
      this.pendingFrameLength === 0 &&
      this.skipLeft === 0
    );
  }

  /** Bytes held for an unfinished message (for memory bounds in tests). */
  bufferedBytes(): number {
    return this.piecesHave + this.headerHave;
  }

  push(chunk: Buffer): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      if (this.skipLeft > 0) {
        const take = Math.min(this.skipLeft, length - pos);
        this.skipLeft -= take;
        this.sink.skipBytes(chunk, pos, pos + take);
        pos += take;
        if (this.skipLeft === 0) this.sink.skipEnd(pos);
        continue;
      }
      if (this.pendingFrameLength > 0) {
        pos = this.continuePending(chunk, pos);
        continue;
      }
      const headerLength = this.startup ? 4 : 5;
      if (this.headerHave === 0 && length - pos >= headerLength) {
        const code = this.startup ? 0 : (chunk[pos] ?? 0);
        const declared = chunk.readInt32BE(pos + headerLength - 4);
        pos = this.begin(chunk, pos, pos + headerLength, code, declared, headerLength, true);
        continue;
      }
      const take = Math.min(headerLength - this.headerHave, length - pos);
      chunk.copy(this.headerScratch, this.headerHave, pos, pos + take);
      this.headerHave += take;
      pos += take;
      if (this.headerHave < headerLength) break;
      this.headerHave = 0;
      const code = this.startup ? 0 : (this.headerScratch[0] ?? 0);
      const declared = this.headerScratch.readInt32BE(headerLength - 4);
      pos = this.begin(chunk, pos, pos, code, declared, headerLength, false);
    }
  }

  /** Validates a header and starts its body; returns the next chunk offset. */
  private begin(
    chunk: Buffer,
    headerStart: number,
    bodyStart: number,
    code: number,
    declared: number,
    headerLength: number,
    headerInChunk: boolean,
  ): number {
    const kind = this.startup ? FrameKind.Decode : (this.kinds[code] ?? FrameKind.Invalid);
    if (kind === FrameKind.Invalid) {
      throw this.fail(`unknown message type 0x${code.toString(16).padStart(2, '0')}`);
    }
    // Length includes itself but not the type byte — protocol-message-formats.
    const minimum = this.startup ? 8 : 4;
    if (declared < minimum) throw this.fail(`message length ${declared} below ${minimum}`);
    const bodyLength = declared - 4;
    if (kind === FrameKind.Skip) {
      if (declared > this.limits.maxStreamedBytes) {
        throw this.fail(`message length ${declared} above ${this.limits.maxStreamedBytes}`);
      }
      this.sink.skipStart(code, bodyLength, bodyStart);
      this.skipLeft = bodyLength;
      if (bodyLength === 0) this.sink.skipEnd(bodyStart);
      return bodyStart;
    }
    const maximum = this.startup ? MAX_STARTUP_PACKET : this.limits.maxMessageBytes;
    if (declared > maximum) throw this.fail(`message length ${declared} above ${maximum}`);
    const frameLength = headerLength + bodyLength;
    if (headerInChunk && bodyStart + bodyLength <= chunk.length) {
      const end = bodyStart + bodyLength;
      const raw = chunk.subarray(headerStart, end);
      this.sink.frame(code, raw.subarray(headerLength), raw, end);
      return end;
    }
    // Split across chunks: keep copies of what arrived (never more than the checked length).
    const header = headerInChunk
      ? chunk.subarray(headerStart, bodyStart)
      : this.headerScratch.subarray(0, headerLength);
    this.pieces = [Buffer.from(header)];
    this.piecesHave = headerLength;
    this.pendingCode = code;
    this.pendingFrameLength = frameLength;
    this.pendingHeaderLength = headerLength;
    if (frameLength === headerLength) return this.finishPending(bodyStart);
    return bodyStart;
  }

  private continuePending(chunk: Buffer, pos: number): number {
    const take = Math.min(this.pendingFrameLength - this.piecesHave, chunk.length - pos);
    this.pieces.push(Buffer.from(chunk.subarray(pos, pos + take)));
    this.piecesHave += take;
    const end = pos + take;
    if (this.piecesHave < this.pendingFrameLength) return end;
    return this.finishPending(end);
  }

  private finishPending(end: number): number {
    const raw =
      this.pieces.length === 1 ? (this.pieces[0] ?? Buffer.alloc(0)) : Buffer.concat(this.pieces);
    const code = this.pendingCode;
    const headerLength = this.pendingHeaderLength;
    this.pieces = [];
    this.piecesHave = 0;
    this.pendingFrameLength = 0;
    this.sink.frame(code, raw.subarray(headerLength), raw, end);
    return end;
  }

  private fail(detail: string): ProtocolError {
    return new ProtocolError('postgres', `${this.direction}: ${detail}`);
  }
}

/** Builds a type table: listed codes decoded, listed codes skipped, everything else `fallback`. */
export function kindTable(
  decode: readonly number[],
  skip: readonly number[],
  fallback: (typeof FrameKind)[keyof typeof FrameKind],
): Uint8Array {
  const table = new Uint8Array(256).fill(fallback);
  for (const code of decode) table[code] = FrameKind.Decode;
  for (const code of skip) table[code] = FrameKind.Skip;
  return table;
}
