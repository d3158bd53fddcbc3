/**
 * Feeds parsers and normalises what they emit, so that one expected list holds whatever the
 * chunking: consecutive body views are merged, and every emitted byte is kept to check that
 * the messages add up to the input.
 */
import { RequestParser, ResponseParser } from '../../src/protocols/http/index.js';
import type {
  HttpLimits,
  RequestMessage,
  ResponseMessage,
} from '../../src/protocols/http/index.js';

export type Seen =
  | { readonly type: 'head'; readonly line: string; readonly framing: string }
  | { readonly type: 'body'; readonly text: string }
  | { readonly type: 'end'; readonly payloadBytes: number }
  | { readonly type: 'opaque'; readonly text: string };

export class Collector {
  readonly seen: Seen[] = [];
  readonly bytes: Buffer[] = [];

  add(m: RequestMessage | ResponseMessage): void {
    switch (m.type) {
      case 'request-head':
        this.bytes.push(Buffer.from(m.head.raw));
        this.seen.push({
          type: 'head',
          line: `${m.head.method} ${m.head.target}`,
          framing: m.head.framing.kind,
        });
        return;
      case 'response-head':
        this.bytes.push(Buffer.from(m.head.raw));
        this.seen.push({ type: 'head', line: String(m.head.status), framing: m.head.framing.kind });
        return;
      case 'body':
      case 'opaque': {
        this.bytes.push(Buffer.from(m.bytes));
        const last = this.seen[this.seen.length - 1];
        const text = m.bytes.toString('latin1');
        if (last !== undefined && last.type === m.type)
          this.seen[this.seen.length - 1] = { type: m.type, text: last.text + text };
        else this.seen.push({ type: m.type, text });
        return;
      }
      case 'end':
        this.seen.push({ type: 'end', payloadBytes: m.payloadBytes });
        return;
    }
  }

  text(): string {
    return Buffer.concat(this.bytes).toString('latin1');
  }
}

export function requestParser(limits?: HttpLimits): { parser: RequestParser; out: Collector } {
  const out = new Collector();
  return { parser: new RequestParser((m) => out.add(m), limits), out };
}

export function responseParser(limits?: HttpLimits): { parser: ResponseParser; out: Collector } {
  const out = new Collector();
  return { parser: new ResponseParser((m) => out.add(m), limits), out };
}

/** Feeds every piece to a fresh request parser; returns what it saw. */
export function parseRequests(pieces: readonly Buffer[], limits?: HttpLimits): Collector {
  const { parser, out } = requestParser(limits);
  for (const p of pieces) parser.push(p);
  return out;
}

/** Feeds every piece to a fresh response parser expecting these request methods. */
export function parseResponses(
  methods: readonly string[],
  pieces: readonly Buffer[],
  limits?: HttpLimits,
): Collector {
  const { parser, out } = responseParser(limits);
  for (const m of methods) parser.expect(m);
  for (const p of pieces) parser.push(p);
  return out;
}
