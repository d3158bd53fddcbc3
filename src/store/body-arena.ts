/**
 * Record bodies kept as UTF-8 bytes in chunks outside the JS heap instead of as strings,
 * on their way to the log's writer thread (DESIGN §6). A body string lives on the young
 * heap until its commit (each scavenge meanwhile copies it), then is copied string by
 * string into the message to the writer, and encoded again there to be hashed and bound.
 * In a chunk, a batch's bodies go to the writer as one block of bytes (its part of the
 * chunk, copied once and transferred), and this thread decodes a body only for a reader
 * that asks for it (a commit listener).
 *
 * Each body is stored behind a 0x00 byte, the RFC 6962 leaf prefix, so that the writer
 * hashes the leaf input where it lies. Chunks are append-only: bytes once placed never
 * change. A chunk is freed once no row refers to it. (A SharedArrayBuffer would spare the
 * one copy, but every write into shared memory is a relaxed atomic copy, several times
 * slower than the copy it spares.)
 */

/** A record body placed in a chunk: UTF-8 bytes [at, at + length), 0x00 at `at - 1`. */
export interface BodyBytes {
  /** A Buffer over the whole of the chunk's ArrayBuffer. */
  readonly chunk: Buffer;
  readonly at: number;
  readonly length: number;
}

/**
 * Chunk size: ~180 of the gateway's records. Small enough that a row kept long after its
 * commit (by a listener that never reads its body) holds little memory with it.
 */
export const CHUNK_BYTES = 128 * 1024;

/**
 * Room kept at the end of a chunk for the next record to be written in place: one that
 * still outgrows it is written elsewhere and copied into a new chunk (`place`).
 */
const ROOM_BYTES = 16 * 1024;

/**
 * Where bodies go, one after another. A writer either writes a record in place — from
 * `chunk[pos]` on (0x00, then the body), then `advance` — or hands over its bytes (`place`).
 * `placed` then says where the record's body is.
 */
export class BodyArena {
  private chunkBuf: Buffer = newChunk(CHUNK_BYTES);
  private next = 0;
  private last: BodyBytes = { chunk: this.chunkBuf, at: 1, length: 0 };

  /** The chunk the next record is written into, from `pos` on. */
  get chunk(): Buffer {
    return this.chunkBuf;
  }

  get pos(): number {
    return this.next;
  }

  /** The body of the last record placed. */
  get placed(): BodyBytes {
    return this.last;
  }

  /** A record was written in place: 0x00 and its body are `chunk[pos, end)`. */
  advance(end: number): void {
    const start = this.next;
    this.last = { chunk: this.chunkBuf, at: start + 1, length: end - start - 1 };
    this.next = end;
    if (this.chunkBuf.length - end < ROOM_BYTES) this.fresh(CHUNK_BYTES);
  }

  /** Copies `prefixed[0, length)` — 0x00 then a body's UTF-8 bytes — into a chunk. */
  place(prefixed: Buffer, length: number): void {
    // A body larger than a chunk gets a chunk of its own.
    if (this.next + length > this.chunkBuf.length) this.fresh(Math.max(CHUNK_BYTES, length));
    prefixed.copy(this.chunkBuf, this.next, 0, length);
    this.advance(this.next + length);
  }

  /** Places a body given as a string (0x00 and its UTF-8 bytes). */
  placeText(body: string): BodyBytes {
    const bytes = Buffer.from(`\u0000${body}`, 'utf8');
    this.place(bytes, bytes.length);
    return this.last;
  }

  private fresh(bytes: number): void {
    this.chunkBuf = newChunk(bytes);
    this.next = 0;
  }
}

/** A Buffer over an ArrayBuffer of its own (never a slice of Node's pool). */
function newChunk(bytes: number): Buffer {
  return Buffer.allocUnsafeSlow(bytes);
}

/** The body's text (a decode of its bytes). */
export function bodyText(b: BodyBytes): string {
  return b.chunk.toString('utf8', b.at, b.at + b.length);
}
