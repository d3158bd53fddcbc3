import { ProtocolError } from '../../errors.js';
import { MAX_PACKET_PAYLOAD } from './messages.js';

/**
 * Finds packet boundaries in one direction of a MySQL connection from the 4-byte headers
 * alone (protocol_basic_packets: int<3> payload_length, int<1> sequence_id). A payload of
 * exactly 0xFFFFFF continues in the next packet. The sink chooses per logical packet, from
 * its first payload byte, whether it is decoded (handed over whole, zero-copy when it lies in
 * one chunk, bounded by maxMessageBytes) or streamed (raw bytes passed through by count and
 * never held: rows, LOCAL INFILE contents, long data).
 */

/** How the framer treats one logical packet. */
export const FrameMode = {
  Decode: 1,
  Stream: 2,
} as const;
export type FrameModeValue = (typeof FrameMode)[keyof typeof FrameMode];

/** MySQL's own ceiling for max_allowed_packet (1 GiB): the cap for streamed packets. */
export const MAX_STREAMED_PACKET = 0x4000_0000;

export interface FramerLimits {
  /** Largest logical payload that is decoded (buffered). */
  readonly maxMessageBytes: number;
  /** Largest logical payload passed through by count. */
  readonly maxStreamedBytes: number;
}

/** Receives what the framer finds, in order. */
export interface FrameSink {
  /** Decode or stream the logical packet starting with this header (firstByte -1: empty). */
  modeFor(firstByte: number, length: number, seq: number): FrameModeValue;
  /** A whole decoded packet: `payload` joined across continuations, `raw` every header and byte. */
  frame(seq: number, payload: Buffer, raw: Buffer): void;
  /** Raw bytes (headers included) of a streamed packet: `source[start, end)`. */
  streamBytes(source: Buffer, start: number, end: number): void;
  /** A streamed logical packet is complete. */
  streamEnd(seq: number, firstByte: number, length: number): void;
}

const HEADER = 4;

export class PacketFramer {
  /** Header bytes split across chunks (at most 4). */
  private readonly headerScratch = Buffer.alloc(HEADER);
  private headerHave = 0;
  /** The next header continues the current logical packet (previous payload was 0xFFFFFF). */
  private continuation = false;
  private mode: FrameModeValue = FrameMode.Decode;
  private logicalSeq = 0;
  private logicalFirst = -1;
  private logicalLength = 0;
  /** Copies of the physical packets of a decoded packet split across chunks. */
  private pieces: Buffer[] = [];
  private piecesHave = 0;
  private decodeLeft = 0;
  private streamLeft = 0;
  private physicalContinues = false;
  private lastSeq = -1;
  private halted = false;

  constructor(
    private readonly limits: FramerLimits,
    private readonly sink: FrameSink,
    private readonly direction: string,
  ) {}

  /** True when no packet is partly read (a safe point to write bytes of our own). */
  atBoundary(): boolean {
    return (
      this.headerHave === 0 &&
      !this.continuation &&
      this.piecesHave === 0 &&
      this.decodeLeft === 0 &&
      this.streamLeft === 0
    );
  }

  /** Bytes held for an unfinished packet (for memory bounds in tests). */
  bufferedBytes(): number {
    return this.piecesHave + this.headerHave;
  }

  /** The sequence id of the last header read (-1 before any). */
  lastSequenceId(): number {
    return this.lastSeq;
  }

  /** Stop the current `push` after the packet being handed over (e.g. before a TLS upgrade). */
  halt(): void {
    this.halted = true;
  }

  /** Consumes `chunk`; returns how many bytes were used (less than all only after `halt`). */
  push(chunk: Buffer): number {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      if (this.halted) break;
      if (this.streamLeft > 0) {
        const take = Math.min(this.streamLeft, length - pos);
        this.streamLeft -= take;
        this.sink.streamBytes(chunk, pos, pos + take);
        pos += take;
        if (this.streamLeft === 0) this.physicalDone();
        continue;
      }
      if (this.decodeLeft > 0) {
        const take = Math.min(this.decodeLeft, length - pos);
        this.pieces.push(Buffer.from(chunk.subarray(pos, pos + take)));
        this.piecesHave += take;
        this.decodeLeft -= take;
        pos += take;
        if (this.decodeLeft === 0) this.physicalDone();
        continue;
      }
      if (this.headerHave === 0 && length - pos >= HEADER) {
        const declared = chunk.readUIntLE(pos, 3);
        const needsPeek = !this.continuation && declared > 0;
        if (!needsPeek || length - pos > HEADER) {
          const seq = chunk[pos + 3] ?? 0;
          const first = needsPeek ? (chunk[pos + HEADER] ?? 0) : -1;
          pos = this.begin(chunk, pos, pos + HEADER, declared, seq, first, true);
          continue;
        }
      }
      if (this.headerHave < HEADER) {
        const take = Math.min(HEADER - this.headerHave, length - pos);
        chunk.copy(this.headerScratch, this.headerHave, pos, pos + take);
        this.headerHave += take;
        pos += take;
        if (this.headerHave < HEADER) break;
      }
      const declared = this.headerScratch.readUIntLE(0, 3);
      const needsPeek = !this.continuation && declared > 0;
      // The first payload byte picks the mode; it is peeked, not consumed.
      if (needsPeek && pos >= length) break;
      const seq = this.headerScratch[3] ?? 0;
      const first = needsPeek ? (chunk[pos] ?? 0) : -1;
      this.headerHave = 0;
      pos = this.begin(chunk, pos, pos, declared, seq, first, false);
    }
    this.halted = false;
    return pos;
  }

  /** Starts one physical packet whose header was just read; returns the next chunk offset. */
  private begin(
    chunk: Buffer,
    headerStart: number,
    bodyStart: number,
    declared: number,
    seq: number,
    first: number,
    headerInChunk: boolean,
  ): number {
    this.lastSeq = seq;
    if (!this.continuation) {
      this.mode = this.sink.modeFor(first, declared, seq);
      this.logicalSeq = seq;
      this.logicalFirst = first;
      this.logicalLength = 0;
    }
    this.continuation = false;
    this.logicalLength += declared;
    this.physicalContinues = declared === MAX_PACKET_PAYLOAD;
    const header = headerInChunk ? chunk.subarray(headerStart, bodyStart) : this.headerScratch;

    if (this.mode === FrameMode.Stream) {
      if (this.logicalLength > this.limits.maxStreamedBytes) {
        throw this.fail(
          `packet length ${this.logicalLength} above ${this.limits.maxStreamedBytes}`,
        );
      }
      const take = Math.min(declared, chunk.length - bodyStart);
      if (headerInChunk) {
        this.sink.streamBytes(chunk, headerStart, bodyStart + take);
      } else {
        this.sink.streamBytes(Buffer.from(header), 0, HEADER);
        if (take > 0) this.sink.streamBytes(chunk, bodyStart, bodyStart + take);
      }
      this.streamLeft = declared - take;
      if (this.streamLeft === 0) this.physicalDone();
      return bodyStart + take;
    }

    if (this.logicalLength > this.limits.maxMessageBytes) {
      throw this.fail(`packet length ${this.logicalLength} above ${this.limits.maxMessageBytes}`);
    }
    const end = bodyStart + declared;
    if (
      headerInChunk &&
      this.pieces.length === 0 &&
      !this.physicalContinues &&
      end <= chunk.length
    ) {
      const raw = chunk.subarray(headerStart, end);
      this.sink.frame(seq, raw.subarray(HEADER), raw);
      return end;
    }
    // Split across chunks or continued: keep copies (never more than the checked length).
    this.pieces.push(Buffer.from(header));
    this.piecesHave += HEADER;
    const take = Math.min(declared, chunk.length - bodyStart);
    if (take > 0) {
      this.pieces.push(Buffer.from(chunk.subarray(bodyStart, bodyStart + take)));
      this.piecesHave += take;
    }
    this.decodeLeft = declared - take;
    if (this.decodeLeft === 0) this.physicalDone();
    return bodyStart + take;
  }

  /** One physical packet is complete: wait for its continuation or finish the logical packet. */
  private physicalDone(): void {
    if (this.physicalContinues) {
      this.continuation = true;
      return;
    }
    if (this.mode === FrameMode.Stream) {
      this.sink.streamEnd(this.logicalSeq, this.logicalFirst, this.logicalLength);
      return;
    }
    const raw =
      this.pieces.length === 1
        ? (this.pieces[0] ?? Buffer.alloc(0))
        : Buffer.concat(this.pieces, this.piecesHave);
    this.pieces = [];
    this.piecesHave = 0;
    this.sink.frame(this.logicalSeq, joinPayload(raw), raw);
  }

  private fail(detail: string): ProtocolError {
    return new ProtocolError('mysql', `${this.direction}: ${detail}`);
  }
}

/** The payload of one or more physical packets held in `raw` (headers dropped). */
function joinPayload(raw: Buffer): Buffer {
  const firstLength = raw.readUIntLE(0, 3);
  if (HEADER + firstLength === raw.length) return raw.subarray(HEADER);
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + HEADER <= raw.length) {
    const length = raw.readUIntLE(offset, 3);
    parts.push(raw.subarray(offset + HEADER, offset + HEADER + length));
    offset += HEADER + length;
  }
  return Buffer.concat(parts);
}

/** Adds `delta` (mod 256) to the sequence id of every physical packet in `raw`, in place. */
export function shiftSequenceIds(raw: Buffer, delta: number): void {
  let offset = 0;
  while (offset + HEADER <= raw.length) {
    const length = raw.readUIntLE(offset, 3);
    raw[offset + 3] = ((raw[offset + 3] ?? 0) + delta + 256) & 0xff;
    offset += HEADER + length;
  }
}
