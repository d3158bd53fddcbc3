/**
 * Client bytes that arrive while a gateway sign-in is being checked (a token, a JWT whose
 * keys may be fetched, the target's own login): kept in order and replayed once the
 * connection is open, but bounded — a client that keeps sending before it is signed in
 * is cut off instead of growing the gateway's memory.
 */

/** Pipelined statements queued behind a sign-in fit easily; a flood does not. */
export const MAX_SIGN_IN_BACKLOG = 1024 * 1024;

export class SignInBacklog {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly max = MAX_SIGN_IN_BACKLOG) {}

  /** Keep a copy of `chunk`; false when that would pass the bound (nothing is kept then). */
  push(chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    if (this.bytes + chunk.length > this.max) return false;
    this.bytes += chunk.length;
    this.chunks.push(Buffer.from(chunk));
    return true;
  }

  /** Everything kept, in order; the backlog is empty afterwards. */
  take(): Buffer[] {
    const out = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return out;
  }
}

export const BACKLOG_EXCEEDED = `more than ${MAX_SIGN_IN_BACKLOG} bytes sent before the sign-in finished`;
