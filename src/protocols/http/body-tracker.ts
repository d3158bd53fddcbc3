/**
 * Finds where a message body ends without buffering it — RFC 9112 §6–§7. Content-Length
 * counts down; chunked runs a byte state machine over the chunk-size lines and trailers
 * (each bounded) and skips chunk data in bulk; until-close and opaque never end.
 */
import { HttpProtocolError } from './messages.js';
import type { BodyFraming } from './messages.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

/** Chunked decoder states. */
const S = {
  SIZE_FIRST: 0, // first HEXDIG of chunk-size
  SIZE: 1, // more HEXDIG, ';' or CR
  EXT: 2, // chunk-ext up to CR
  SIZE_LF: 3,
  DATA: 4,
  DATA_CR: 5,
  DATA_LF: 6,
  TRAILER_START: 7, // CR ends the trailer section, anything else starts a field line
  TRAILER: 8,
  TRAILER_LF: 9,
  FINAL_LF: 10,
  DONE: 11,
} as const;
type ChunkState = (typeof S)[keyof typeof S];

/** Largest chunk-size we accept before the multiply could leave the safe-integer range. */
const MAX_CHUNK_SIZE_BEFORE_DIGIT = Math.floor(Number.MAX_SAFE_INTEGER / 16);

/** Bounds on chunk framing. */
export interface BodyLimits {
  /** A chunk-size line with its extensions. */
  readonly maxChunkLineBytes: number;
  /** The whole trailer section. */
  readonly maxTrailerBytes: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = {
  maxChunkLineBytes: 4096,
  maxTrailerBytes: 16 * 1024,
};

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Tracks one body at a time; reuse it with `begin` for the next message. */
export class BodyTracker {
  private framing: BodyFraming = { kind: 'none' };
  private remaining = 0;
  private state: ChunkState = S.DONE;
  private chunkSize = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /** Body bytes seen so far, chunk framing excluded. */
  payloadBytes = 0;

  constructor(private readonly limits: BodyLimits = DEFAULT_BODY_LIMITS) {}

  begin(framing: BodyFraming): void {
    this.framing = framing;
    this.payloadBytes = 0;
    this.remaining = framing.kind === 'length' ? framing.length : 0;
    this.state = S.SIZE_FIRST;
    this.chunkSize = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
  }

  /** Whether the framing ends only with the connection. */
  get endsWithClose(): boolean {
    return this.framing.kind === 'until-close' || this.framing.kind === 'opaque';
  }

  /**
   * Consumes body bytes of `chunk` from `start`; returns the offset just past the body's
   * end, or -1 when the whole rest of the chunk belongs to the body and more is needed.
   */
  advance(chunk: Buffer, start: number): number {
    switch (this.framing.kind) {
      case 'none':
        return start;
      case 'length': {
        const take = Math.min(this.remaining, chunk.length - start);
        this.remaining -= take;
        this.payloadBytes += take;
        return this.remaining === 0 ? start + take : -1;
      }
      case 'chunked':
        return this.advanceChunked(chunk, start);
      case 'until-close':
      case 'opaque':
        this.payloadBytes += chunk.length - start;
        return -1;
    }
  }

  private advanceChunked(chunk: Buffer, start: number): number {
    let pos = start;
    const end = chunk.length;
    while (pos < end) {
      if (this.state === S.DATA) {
        const take = Math.min(this.chunkSize, end - pos);
        this.chunkSize -= take;
        this.payloadBytes += take;
        pos += take;
        if (this.chunkSize === 0) this.state = S.DATA_CR;
        continue;
      }
      const c = chunk[pos] ?? 0;
      pos++;
      switch (this.state) {
        case S.SIZE_FIRST: {
          const d = hexValue(c);
          if (d < 0) throw new HttpProtocolError('malformed chunk size');
          this.chunkSize = d;
          this.lineBytes = 1;
          this.state = S.SIZE;
          break;
        }
        case S.SIZE: {
          this.countLine();
          const d = hexValue(c);
          if (d >= 0) {
            if (this.chunkSize > MAX_CHUNK_SIZE_BEFORE_DIGIT)
              throw new HttpProtocolError('chunk size too large');
            this.chunkSize = this.chunkSize * 16 + d;
          } else if (c === 0x3b) this.state = S.EXT;
          else if (c === CR) this.state = S.SIZE_LF;
          else throw new HttpProtocolError('malformed chunk size');
          break;
        }
        case S.EXT:
          this.countLine();
          if (c === CR) this.state = S.SIZE_LF;
          else if (c !== HTAB && (c < SP || c === 0x7f))
            throw new HttpProtocolError('control character in chunk extension');
          break;
        case S.SIZE_LF:
          if (c !== LF) throw new HttpProtocolError('chunk size line not ended by CRLF');
          this.state = this.chunkSize === 0 ? S.TRAILER_START : S.DATA;
          break;
        case S.DATA_CR:
          if (c !== CR) throw new HttpProtocolError('chunk data not followed by CRLF');
          this.state = S.DATA_LF;
          break;
        case S.DATA_LF:
          if (c !== LF) throw new HttpProtocolError('chunk data not followed by CRLF');
          this.state = S.SIZE_FIRST;
          break;
        case S.TRAILER_START:
          this.countTrailer();
          if (c === CR) this.state = S.FINAL_LF;
          else if (c === SP || c === HTAB)
            throw new HttpProtocolError('obsolete line folding in trailer');
          else if (c < SP || c === 0x7f)
            throw new HttpProtocolError('control character in trailer');
          else this.state = S.TRAILER;
          break;
        case S.TRAILER:
          this.countTrailer();
          if (c === CR) this.state = S.TRAILER_LF;
          else if (c !== HTAB && (c < SP || c === 0x7f))
            throw new HttpProtocolError('control character in trailer');
          break;
        case S.TRAILER_LF:
          this.countTrailer();
          if (c !== LF) throw new HttpProtocolError('trailer line not ended by CRLF');
          this.state = S.TRAILER_START;
          break;
        case S.FINAL_LF:
          if (c !== LF) throw new HttpProtocolError('chunked body not ended by CRLF');
          this.state = S.DONE;
          return pos;
        default:
          throw new HttpProtocolError('chunked body already ended');
      }
    }
    return -1;
  }

  private countLine(): void {
    if (++this.lineBytes > this.limits.maxChunkLineBytes)
      throw new HttpProtocolError('chunk size line too long');
  }

  private countTrailer(): void {
    if (++this.trailerBytes > this.limits.maxTrailerBytes)
      throw new HttpProtocolError('trailer section too large', 431);
  }
}
