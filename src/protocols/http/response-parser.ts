/**
 * Server → client HTTP/1.1 stream parser. Responses are matched FIFO to the requests that
 * were forwarded (`expect`), since HEAD and CONNECT change how a response is framed;
 * 1xx interim responses precede the final one; 101 turns the rest of the stream opaque.
 */
import { BodyTracker } from './body-tracker.js';
import { responseFraming } from './framing.js';
import { HeadBuffer } from './head-buffer.js';
import { parseResponseHead } from './head-parser.js';
import { DEFAULT_HTTP_LIMITS } from './limits.js';
import type { HttpLimits } from './limits.js';
import type { ResponseHead, ResponseMessage } from './messages.js';

const ST = { HEAD: 0, BODY: 1, OPAQUE: 2, ENDED: 3 } as const;
type State = (typeof ST)[keyof typeof ST];

export class ResponseParser {
  private state: State = ST.HEAD;
  private readonly heads: HeadBuffer;
  private readonly body: BodyTracker;
  /** Methods of forwarded requests still waiting for their final response. */
  private readonly methods: string[] = [];

  constructor(
    private readonly onMessage: (message: ResponseMessage) => void,
    private readonly limits: HttpLimits = DEFAULT_HTTP_LIMITS,
  ) {
    this.heads = new HeadBuffer(limits, 400);
    this.body = new BodyTracker(limits);
  }

  /** A request with this method was forwarded; its response comes in this order. */
  expect(method: string): void {
    this.methods.push(method);
  }

  /** Whether the parser is between responses or inside an unfinished head (nothing emitted of it yet). */
  get inHead(): boolean {
    return this.state === ST.HEAD;
  }

  /** Feeds one chunk; throws HttpProtocolError on a violation (the parser then ignores input). */
  push(chunk: Buffer): void {
    if (this.state === ST.ENDED) return;
    try {
      this.run(chunk);
    } catch (err) {
      this.state = ST.ENDED;
      this.heads.reset();
      throw err;
    }
  }

  /** The server closed: a body delimited by the close ends here. */
  finish(): void {
    if (this.state === ST.BODY && this.body.endsWithClose) {
      this.state = ST.ENDED;
      this.onMessage({ type: 'end', payloadBytes: this.body.payloadBytes });
    }
    this.state = ST.ENDED;
  }

  private run(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.state) {
        case ST.HEAD: {
          const end = this.heads.feed(chunk, pos);
          if (end < 0) return;
          pos = end;
          this.startMessage(this.heads.head);
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
          this.state = ST.HEAD;
          this.onMessage({ type: 'end', payloadBytes: this.body.payloadBytes });
          break;
        }
        case ST.OPAQUE:
          this.onMessage({ type: 'opaque', bytes: chunk.subarray(pos) });
          return;
        case ST.ENDED:
          return;
      }
    }
  }

  private startMessage(raw: Buffer): void {
    const p = parseResponseHead(raw, this.limits);
    const unsolicited = this.methods.length === 0;
    const method = this.methods[0] ?? 'GET';
    const framing = responseFraming(p.headers, p.version, p.status, method);
    const interim = p.status < 200 && p.status !== 101;
    const head: ResponseHead = {
      status: p.status,
      version: p.version,
      headers: p.headers,
      raw,
      framing,
      interim,
    };
    if (!interim) this.methods.shift();
    this.onMessage({ type: 'response-head', head, unsolicited });
    if (interim) return;
    if (framing.kind === 'opaque') {
      this.state = ST.OPAQUE;
      this.onMessage({ type: 'end', payloadBytes: 0 });
    } else if (framing.kind === 'none') {
      this.onMessage({ type: 'end', payloadBytes: 0 });
    } else {
      this.body.begin(framing);
      this.state = ST.BODY;
    }
  }
}
