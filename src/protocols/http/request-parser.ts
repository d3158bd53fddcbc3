/**
 * Client → server HTTP/1.1 stream parser: heads, bodies, pipelined requests, and the switch
 * to opaque bytes after an agreed upgrade. `push` emits whole heads and body views in order
 * through the callback and keeps only an unfinished head (bounded).
 */
import { BodyTracker } from './body-tracker.js';
import { persists, requestFraming, listValues, headerValue } from './framing.js';
import { HeadBuffer } from './head-buffer.js';
import { parseRequestHead } from './head-parser.js';
import { DEFAULT_HTTP_LIMITS } from './limits.js';
import type { HttpLimits } from './limits.js';
import { HttpProtocolError } from './messages.js';
import type { RequestHead, RequestMessage } from './messages.js';

const ST = { HEAD: 0, BODY: 1, PAUSED: 2, OPAQUE: 3, FAILED: 4 } as const;
type State = (typeof ST)[keyof typeof ST];

/** Builds the typed head (parsed fields plus framing and connection semantics). */
export function toRequestHead(raw: Buffer, limits: HttpLimits): RequestHead {
  const p = parseRequestHead(raw, limits);
  const hosts = p.headers.filter((h) => h.name === 'host').length;
  // Exactly one Host in HTTP/1.1 — RFC 9112 §3.2.
  if (hosts > 1 || (hosts === 0 && p.version === '1.1'))
    throw new HttpProtocolError('missing or repeated Host');
  const connectionUpgrade = listValues(p.headers, 'connection').includes('upgrade');
  return {
    method: p.method,
    target: p.target,
    version: p.version,
    headers: p.headers,
    raw,
    fieldsStart: p.fieldsStart,
    framing: requestFraming(p.headers, p.version),
    keepAlive: persists(p.headers, p.version),
    upgrade:
      p.method === 'CONNECT' ||
      (connectionUpgrade && headerValue(p.headers, 'upgrade') !== undefined),
    expectContinue: (headerValue(p.headers, 'expect') ?? '').toLowerCase() === '100-continue',
  };
}

export class RequestParser {
  private state: State = ST.HEAD;
  private readonly heads: HeadBuffer;
  private readonly body: BodyTracker;
  private stash: Buffer[] = [];
  private stashBytes = 0;
  private currentUpgrade = false;
  private afterUpgrade: 'resume' | 'opaque' | undefined;

  constructor(
    private readonly onMessage: (message: RequestMessage) => void,
    private readonly limits: HttpLimits = DEFAULT_HTTP_LIMITS,
  ) {
    this.heads = new HeadBuffer(limits, 414);
    this.body = new BodyTracker(limits);
  }

  /** Feeds one chunk; throws HttpProtocolError on a violation (the parser then ignores input). */
  push(chunk: Buffer): void {
    if (this.state === ST.FAILED) return;
    try {
      this.run(chunk, 0);
    } catch (err) {
      this.fail();
      throw err;
    }
  }

  /** The upgrade just requested was refused: parse what follows as HTTP again. */
  resume(): void {
    if (this.state !== ST.PAUSED) {
      if (this.currentUpgrade) this.afterUpgrade = 'resume';
      return;
    }
    this.state = ST.HEAD;
    this.replay();
  }

  /** The upgrade was granted: everything from now on is opaque. */
  upgrade(): void {
    if (this.state !== ST.PAUSED) {
      if (this.currentUpgrade) this.afterUpgrade = 'opaque';
      return;
    }
    this.state = ST.OPAQUE;
    this.replay();
  }

  /** Whether an unfinished message is in progress (a head partly read, or a body). */
  get midMessage(): boolean {
    return this.state === ST.BODY || (this.state === ST.HEAD && this.heads.pending > 0);
  }

  /** Whether a request head has begun and is not complete yet (the header deadline runs). */
  get readingHead(): boolean {
    return this.state === ST.HEAD && this.heads.pending > 0;
  }

  /** Bytes the parser keeps between pushes (an unfinished head, or bytes held during an upgrade). */
  get heldBytes(): number {
    return this.heads.pending + this.stashBytes;
  }

  private replay(): void {
    const held = this.stash;
    this.stash = [];
    this.stashBytes = 0;
    try {
      for (const piece of held) this.run(piece, 0);
    } catch (err) {
      this.fail();
      throw err;
    }
  }

  private fail(): void {
    this.state = ST.FAILED;
    this.heads.reset();
    this.stash = [];
    this.stashBytes = 0;
  }

  private run(chunk: Buffer, start: number): void {
    let pos = start;
    while (pos < chunk.length) {
      switch (this.state) {
        case ST.HEAD: {
          const end = this.heads.feed(chunk, pos);
          if (end < 0) return;
          pos = end;
          this.startMessage(toRequestHead(this.heads.head, this.limits));
          break;
        }
        case ST.BODY: {
          const end = this.body.advance(chunk, pos);
          if (end < 0) {
            this.onMessage({ type: 'body', bytes: chunk.subarray(pos) });
            return;
          }
          if (end > pos) this.onMessage({ type: 'body', bytes: chunk.subarray(pos, end) });
          pos = end;
          this.finishMessage();
          break;
        }
        case ST.PAUSED: {
          // Bytes sent before the server answered the upgrade; copied, the chunk may be reused.
          this.stashBytes += chunk.length - pos;
          if (this.stashBytes > this.limits.maxHeadBytes) {
            throw new HttpProtocolError('too many bytes before the upgrade was answered');
          }
          this.stash.push(Buffer.from(chunk.subarray(pos)));
          return;
        }
        case ST.OPAQUE:
          this.onMessage({ type: 'opaque', bytes: chunk.subarray(pos) });
          return;
        case ST.FAILED:
          return;
      }
    }
  }

  private startMessage(head: RequestHead): void {
    this.currentUpgrade = head.upgrade;
    this.afterUpgrade = undefined;
    this.body.begin(head.framing);
    this.state = ST.BODY;
    this.onMessage({ type: 'request-head', head });
    if (head.framing.kind === 'none' && this.state === ST.BODY) this.finishMessage();
  }

  private finishMessage(): void {
    this.onMessage({ type: 'end', payloadBytes: this.body.payloadBytes });
    if (this.state !== ST.BODY) return;
    if (!this.currentUpgrade) {
      this.state = ST.HEAD;
      return;
    }
    this.currentUpgrade = false;
    const next = this.afterUpgrade;
    this.afterUpgrade = undefined;
    this.state = next === 'opaque' ? ST.OPAQUE : next === 'resume' ? ST.HEAD : ST.PAUSED;
  }
}
