/**
 * The client direction's bytes: commands are forwarded whole or not at all, without copying
 * what can be forwarded as it came. A run of allowed bytes in the current chunk is sent as
 * one slice; the start of a command not yet decided is copied until its head is read.
 */

/** What the session decided for a command: send it, drop it, or send DISCARD instead. */
export type CommandVerdict = 'forward' | 'drop' | 'discard';

export class CommandRelay {
  private readonly toUpstream: (bytes: Buffer) => void;
  private readonly discard: Buffer;
  // The chunk being read, what of it is handled, the allowed run not yet sent.
  private chunk: Buffer = Buffer.alloc(0);
  private from = 0;
  private runStart = -1;
  /** Copies of an undecided command's bytes from earlier chunks. */
  private held: Buffer[] = [];
  private current: 'between' | 'forward' | 'drop' = 'between';

  /** `discard` is what goes upstream in place of a command whose verdict is `discard`. */
  constructor(toUpstream: (bytes: Buffer) => void, discard: Buffer) {
    this.toUpstream = toUpstream;
    this.discard = discard;
  }

  /** A client chunk is about to be parsed. */
  begin(chunk: Buffer): void {
    this.chunk = chunk;
    this.from = 0;
    this.runStart = this.current === 'forward' ? 0 : -1;
  }

  /** A command's head was read at `at` and decided. */
  head(verdict: CommandVerdict, at: number): void {
    if (verdict === 'discard') {
      // The EXEC of a doomed transaction: DISCARD goes upstream in its place.
      this.flush();
      if (this.held.length > 0) this.held = [];
      this.toUpstream(this.discard);
      this.current = 'drop';
    } else if (verdict === 'forward') {
      if (this.held.length > 0) {
        this.flush();
        this.held.push(this.chunk.subarray(this.from, at));
        this.toUpstream(Buffer.concat(this.held));
        this.held = [];
        this.runStart = at;
      } else if (this.runStart < 0) this.runStart = this.from;
      this.current = 'forward';
    } else {
      this.flush();
      this.held = [];
      this.current = 'drop';
    }
    this.from = at;
  }

  /** The command ended at `at`. */
  end(at: number): void {
    if (this.current === 'drop') this.runStart = -1;
    this.from = at;
    this.current = 'between';
  }

  /** The chunk is parsed: send the allowed run, keep a copy of an undecided command's start. */
  done(): void {
    if (this.current === 'forward') {
      this.from = this.chunk.length;
      this.flush();
    } else if (this.current === 'between') {
      this.flush();
      if (this.from < this.chunk.length)
        this.held.push(Buffer.from(this.chunk.subarray(this.from)));
    }
  }

  /** Send the allowed run read so far (before a protocol error ends the connection). */
  flush(): void {
    if (this.runStart >= 0 && this.from > this.runStart) {
      this.toUpstream(this.chunk.subarray(this.runStart, this.from));
    }
    this.runStart = -1;
  }
}
