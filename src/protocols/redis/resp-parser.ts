/**
 * One incremental RESP2/RESP3 parser for both directions of a Redis connection.
 *
 * - `command` mode reads what clients send: arrays of bulk strings or inline lines. It
 *   reports a command's head (name and first arguments) as soon as those are read, then its
 *   end, so the session can decide and forward the rest as it streams by.
 * - `reply` mode reads any RESP value, nested, and reports each whole top-level reply with
 *   its type, error text and first few elements.
 *
 * Bulk bodies are counted and skipped; only the first `captureBytes` of the arguments or
 * elements the session needs are copied. Declared lengths and counts are checked against
 * their maximum before anything is read, nesting is bounded, and lines are bounded while
 * they are still incomplete. Hostile input only ever raises ProtocolError.
 */
import { ProtocolError } from '../../errors.js';
import { splitInline } from './inline.js';
import type { CommandHead, Reply, ReplyType } from './messages.js';
import { RESP_TYPE } from './messages.js';
import { isDigitsOnly, isDouble, parseInteger, printable } from './resp-scalars.js';

const CR = 0x0d;
const LF = 0x0a;
/** A length/count line: type byte, sign, up to 19 digits, CR. */
const MAX_HEADER_LINE = 24;
/** Redis PROTO_INLINE_MAX_SIZE: the longest inline command or simple line (server.h). */
const DEFAULT_MAX_LINE = 64 * 1024;
/** Leading elements of a top-level aggregate kept as text (pub/sub: kind, channel, count). */
const HEAD_ELEMENTS = 3;
const HEAD_ELEMENT_BYTES = 64;
/** Stands for an argument that was not copied. */
const NOT_COPIED = Buffer.alloc(0);

export interface RespParserOptions {
  readonly mode: 'command' | 'reply';
  /** Largest bulk string accepted (the listener's maxMessageBytes). */
  readonly maxBulkBytes: number;
  /** Largest element count of one aggregate (default 2^24). */
  readonly maxElements?: number;
  /** Deepest nesting of aggregates in a reply (default 32). */
  readonly maxDepth?: number;
  /** Longest inline command or simple/error line (default 64 KiB, as Redis). */
  readonly maxLineBytes?: number;
  /**
   * Command mode: how many leading arguments to read at most before the head goes out
   * (default 8); all of them are copied unless `captureArg` chooses.
   */
  readonly captureArgs?: number;
  /**
   * Command mode: asked before each argument within `captureArgs` whether to copy it; the
   * arguments read so far are given, uncopied ones as empty buffers (so `args[i]` is always
   * argument i). Without it every argument within `captureArgs` is copied.
   */
  readonly captureArg?: (index: number, args: readonly Buffer[], argc: number) => boolean;
  /** How many bytes of each copied argument or error text to keep (default 1024). */
  readonly captureBytes?: number;
  /**
   * Command mode: report the head once this many bytes of the command were read, even if
   * fewer than `captureArgs` arguments are complete, so a session never holds more before
   * deciding (default maxBulkBytes).
   */
  readonly headBytes?: number;
  /**
   * Command mode: asked after each argument; true when the arguments so far are all the
   * session needs (e.g. name and first key), so the head goes out before the values.
   */
  readonly headReady?: (args: readonly Buffer[], argc: number) => boolean;
}

/** Receives what the parser finds; `at` is the offset in the pushed chunk just past it. */
export interface RespSink {
  commandHead(head: CommandHead, at: number): void;
  commandEnd(at: number): void;
  reply(reply: Reply, at: number): void;
}

type BodyKind = 'bulk' | 'bulk-error' | 'verbatim';

/** An incremental RESP parser; feed it every chunk of one direction in order. */
export class RespParser {
  /** Reply mode: accept RESP3 types (set when the client sent `HELLO 3`). */
  resp3 = false;

  private readonly mode: 'command' | 'reply';
  private readonly maxBulkBytes: number;
  private readonly maxElements: number;
  private readonly maxDepth: number;
  private readonly maxLineBytes: number;
  private readonly captureArgs: number;
  private readonly captureBytes: number;
  private readonly headBytes: number;
  private readonly headReady: ((args: readonly Buffer[], argc: number) => boolean) | undefined;
  private readonly captureArg:
    ((index: number, args: readonly Buffer[], argc: number) => boolean) | undefined;
  private readonly sink: RespSink;
  private failure: ProtocolError | undefined;

  // An incomplete line: copies of its pieces so far.
  private partial: Buffer[] = [];
  private partialLength = 0;

  // A bulk body being read: declared length, bytes of body + CRLF consumed, its copy.
  private inBody = false;
  private bodyLength = 0;
  private bodyRead = 0;
  private capture: Buffer | undefined;

  // Command mode: the multibulk being read (argc 0 = between commands).
  private argc = 0;
  private argIndex = 0;
  private args: Buffer[] = [];
  private headSent = false;
  private commandBytes = 0;

  // Reply mode: open aggregates (remaining elements, attribute or not) and the reply so far.
  private readonly remaining: number[] = [];
  private readonly isAttribute: boolean[] = [];
  private depth = 0;
  private topType: ReplyType = 'null';
  private topText: string | undefined;
  private topCount = 0;
  private topHead: string[] = [];
  private headOpen = false;

  constructor(options: RespParserOptions, sink: RespSink) {
    this.mode = options.mode;
    this.maxBulkBytes = options.maxBulkBytes;
    this.maxElements = options.maxElements ?? 1 << 24;
    this.maxDepth = options.mode === 'command' ? 1 : (options.maxDepth ?? 32);
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE;
    this.captureArgs = Math.max(1, options.captureArgs ?? 8);
    this.captureBytes = options.captureBytes ?? 1024;
    this.headBytes = options.headBytes ?? options.maxBulkBytes;
    this.headReady = options.headReady;
    this.captureArg = options.captureArg;
    this.sink = sink;
  }

  /** True between messages (nothing partial is held). */
  get idle(): boolean {
    return !this.inBody && this.partialLength === 0 && this.argc === 0 && this.depth === 0;
  }

  /** Bytes held across chunks: a partial line and the copy of the argument being read. */
  get heldBytes(): number {
    return this.partialLength + (this.capture?.length ?? 0);
  }

  /** Reads one chunk, calling the sink for everything it completes; throws ProtocolError. */
  push(chunk: Buffer): void {
    if (this.failure !== undefined) throw this.failure;
    try {
      this.read(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }

  private fail(detail: string): never {
    throw new ProtocolError('redis', detail);
  }

  private read(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.inBody) {
        pos = this.readBody(chunk, pos);
        continue;
      }
      const first = this.partialLength > 0 ? (this.partial[0]?.[0] ?? 0) : (chunk[pos] ?? 0);
      const limit = this.lineLimit(first);
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        // Bound the line before holding any more of it.
        const length = this.partialLength + (end - pos);
        if (length > limit) this.lineTooLong(first);
        this.partial.push(Buffer.from(chunk.subarray(pos)));
        this.partialLength = length;
        return;
      }
      if (this.partialLength + (nl - pos) > limit) this.lineTooLong(first);
      let line: Buffer;
      if (this.partialLength === 0) line = chunk.subarray(pos, nl);
      else {
        this.partial.push(chunk.subarray(pos, nl));
        line = Buffer.concat(this.partial, this.partialLength + (nl - pos));
        this.partial = [];
        this.partialLength = 0;
      }
      pos = nl + 1;
      if (this.mode === 'command') this.commandLine(line, pos);
      else this.replyLine(line, pos);
    }
  }

  private isInline(first: number): boolean {
    return this.mode === 'command' && this.argc === 0 && first !== RESP_TYPE.array;
  }

  private lineLimit(first: number): number {
    if (this.isInline(first)) return this.maxLineBytes;
    if (this.mode === 'command') return MAX_HEADER_LINE;
    switch (first) {
      case RESP_TYPE.simple:
      case RESP_TYPE.error:
      case RESP_TYPE.double:
      case RESP_TYPE.bigNumber:
        return this.maxLineBytes;
      default:
        return MAX_HEADER_LINE;
    }
  }

  private lineTooLong(first: number): never {
    if (this.isInline(first)) this.fail('too big inline request');
    if (this.mode === 'command') {
      this.fail(this.argc === 0 ? 'too big mbulk count string' : 'too big bulk count string');
    }
    this.fail(`line of type ${printable(first)} longer than allowed`);
  }

  /** The content of a RESP line (without type byte and CR), checking the CR. */
  private contentEnd(line: Buffer): number {
    if (line.length < 2 || line[line.length - 1] !== CR) this.fail('expected CRLF line ending');
    return line.length - 1;
  }

  // ---- command mode ----

  private commandLine(line: Buffer, at: number): void {
    if (this.argc === 0) {
      const first = line[0];
      if (first !== RESP_TYPE.array) {
        this.inlineCommand(line, at);
        return;
      }
      const count = parseInteger(line, 1, this.contentEnd(line));
      if (Number.isNaN(count) || count > this.maxElements) this.fail('invalid multibulk length');
      // Redis ignores `*0` and `*-1` from clients: no command, no reply (networking.c).
      if (count <= 0) return;
      this.argc = count;
      this.argIndex = 0;
      this.args = [];
      this.headSent = false;
      this.commandBytes = line.length + 1;
      return;
    }
    this.commandBytes += line.length + 1;
    if (line[0] !== RESP_TYPE.bulk) this.fail(`expected '$', got ${printable(line[0] ?? 0)}`);
    const length = parseInteger(line, 1, this.contentEnd(line));
    if (Number.isNaN(length) || length < 0 || length > this.maxBulkBytes) {
      this.fail('invalid bulk length');
    }
    const copy =
      this.argIndex < this.captureArgs &&
      !this.headSent &&
      (this.captureArg?.(this.argIndex, this.args, this.argc) ?? true);
    const keep = copy ? Math.min(length, this.captureBytes) : -1;
    this.startBody(length, keep);
  }

  private inlineCommand(line: Buffer, at: number): void {
    // A trailing CR before the LF belongs to the line ending (networking.c processInlineBuffer).
    const text = line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, -1) : line;
    const words = splitInline(text);
    if (words === undefined) this.fail('unbalanced quotes in request');
    if (words.length === 0) return;
    const args = words
      .slice(0, this.captureArgs)
      .map((w) => (w.length > this.captureBytes ? w.subarray(0, this.captureBytes) : w));
    this.sink.commandHead({ kind: 'command-head', argc: words.length, args, inline: true }, at);
    this.sink.commandEnd(at);
  }

  private argDone(at: number): void {
    // An argument still being read when an early head went out is not added after the fact;
    // one not copied stands as an empty buffer so that args[i] stays argument i.
    if (!this.headSent) this.args.push(this.capture ?? NOT_COPIED);
    this.capture = undefined;
    this.argIndex++;
    const last = this.argIndex === this.argc;
    if (
      !this.headSent &&
      (last ||
        this.argIndex === this.captureArgs ||
        this.headReady?.(this.args, this.argc) === true)
    ) {
      this.sendHead(at);
    }
    if (last) {
      this.argc = 0;
      this.args = [];
      this.sink.commandEnd(at);
    }
  }

  private sendHead(at: number): void {
    this.headSent = true;
    const head: CommandHead = {
      kind: 'command-head',
      argc: this.argc,
      args: this.args,
      inline: false,
    };
    this.sink.commandHead(head, at);
  }

  // ---- bulk bodies (both modes) ----

  /** Starts a body of `length` bytes plus CRLF; `keep` bytes of it are copied (-1: none). */
  private startBody(length: number, keep: number): void {
    this.inBody = true;
    this.bodyLength = length;
    this.bodyRead = 0;
    this.capture = keep >= 0 ? Buffer.allocUnsafe(keep) : undefined;
  }

  private readBody(chunk: Buffer, pos: number): number {
    const total = this.bodyLength + 2;
    const take = Math.min(total - this.bodyRead, chunk.length - pos);
    const capture = this.capture;
    if (capture !== undefined && this.bodyRead < capture.length) {
      const n = Math.min(capture.length - this.bodyRead, take);
      chunk.copy(capture, this.bodyRead, pos, pos + n);
    }
    // The two bytes after the body must be CR LF.
    const from = this.bodyRead;
    const to = from + take;
    for (let p = Math.max(from, this.bodyLength); p < to; p++) {
      const expected = p === this.bodyLength ? CR : LF;
      if (chunk[pos + (p - from)] !== expected) this.fail('expected CRLF after bulk string');
    }
    this.bodyRead = to;
    const next = pos + take;
    if (this.mode === 'command') {
      this.commandBytes += take;
      // A long command: decide on the arguments complete so far rather than hold more.
      if (!this.headSent && this.commandBytes > this.headBytes && to < total) this.sendHead(next);
    }
    if (to === total) {
      this.inBody = false;
      if (this.mode === 'command') this.argDone(next);
      else this.bodyDone(next);
    }
    return next;
  }

  // ---- reply mode ----

  private requireResp3(type: number): void {
    if (!this.resp3) this.fail(`RESP3 type ${printable(type)} before HELLO 3`);
  }

  private replyLine(line: Buffer, at: number): void {
    const type = line[0] ?? 0;
    const end = this.contentEnd(line);
    switch (type) {
      case RESP_TYPE.simple:
        this.scalar('simple', line, end, at);
        return;
      case RESP_TYPE.error:
        this.scalar('error', line, end, at);
        return;
      case RESP_TYPE.integer:
        if (!isDigitsOnly(line, 1, end)) this.fail('invalid integer');
        this.scalar('integer', line, end, at);
        return;
      case RESP_TYPE.null:
        this.requireResp3(type);
        if (end !== 1) this.fail('invalid null');
        this.scalar('null', line, end, at);
        return;
      case RESP_TYPE.boolean:
        this.requireResp3(type);
        if (end !== 2 || (line[1] !== 0x74 && line[1] !== 0x66)) this.fail('invalid boolean');
        this.scalar('boolean', line, end, at);
        return;
      case RESP_TYPE.double:
        this.requireResp3(type);
        if (!isDouble(line, 1, end)) this.fail('invalid double');
        this.scalar('double', line, end, at);
        return;
      case RESP_TYPE.bigNumber:
        this.requireResp3(type);
        if (!isDigitsOnly(line, 1, end)) this.fail('invalid big number');
        this.scalar('big-number', line, end, at);
        return;
      case RESP_TYPE.bulk:
      case RESP_TYPE.bulkError:
      case RESP_TYPE.verbatim:
        this.bulkHeader(type, line, end, at);
        return;
      case RESP_TYPE.array:
      case RESP_TYPE.map:
      case RESP_TYPE.set:
      case RESP_TYPE.push:
      case RESP_TYPE.attribute:
        this.aggregateHeader(type, line, end, at);
        return;
      default:
        this.fail(`unknown reply type ${printable(type)}`);
    }
  }

  /** Whether the value starting now is a leading element of the top-level aggregate. */
  private wantsHead(): boolean {
    return this.depth === 1 && this.headOpen && this.isAttribute[0] !== true;
  }

  private scalar(type: ReplyType, line: Buffer, end: number, at: number): void {
    if (this.depth === 0) {
      this.topType = type;
      this.topCount = 0;
      this.topText = type === 'null' ? undefined : this.text(line, 1, end, this.captureBytes);
    } else if (this.wantsHead()) {
      this.addHead(this.text(line, 1, end, HEAD_ELEMENT_BYTES));
    }
    this.valueDone(at);
  }

  private text(buf: Buffer, start: number, end: number, max: number): string {
    return buf.toString('utf8', start, Math.min(end, start + max));
  }

  private addHead(text: string): void {
    this.topHead.push(text);
    if (this.topHead.length >= HEAD_ELEMENTS) this.headOpen = false;
  }

  private bulkHeader(type: number, line: Buffer, end: number, at: number): void {
    if (type !== RESP_TYPE.bulk) this.requireResp3(type);
    const length = parseInteger(line, 1, end);
    if (type === RESP_TYPE.bulk && length === -1) {
      this.scalar('null', line, 1, at); // RESP2 null bulk string
      return;
    }
    if (Number.isNaN(length) || length < 0 || length > this.maxBulkBytes) {
      this.fail('invalid bulk length');
    }
    // Verbatim strings start with a three-letter format and ':' — RESP3 spec.
    if (type === RESP_TYPE.verbatim && length < 4) this.fail('invalid verbatim length');
    const kind: BodyKind =
      type === RESP_TYPE.bulk ? 'bulk' : type === RESP_TYPE.bulkError ? 'bulk-error' : 'verbatim';
    let keep = -1;
    if (this.depth === 0 && kind === 'bulk-error') keep = Math.min(length, this.captureBytes);
    else if (this.wantsHead()) keep = Math.min(length, HEAD_ELEMENT_BYTES);
    if (this.depth === 0) {
      this.topType = kind;
      this.topCount = 0;
      this.topText = undefined;
    }
    this.startBody(length, keep);
  }

  private bodyDone(at: number): void {
    const capture = this.capture;
    this.capture = undefined;
    if (capture !== undefined) {
      const text = capture.toString('utf8');
      if (this.depth === 0) this.topText = text;
      else this.addHead(text);
    }
    this.valueDone(at);
  }

  private aggregateHeader(type: number, line: Buffer, end: number, at: number): void {
    if (type !== RESP_TYPE.array) this.requireResp3(type);
    const count = parseInteger(line, 1, end);
    if (type === RESP_TYPE.array && count === -1) {
      this.scalar('null', line, 1, at); // RESP2 null array
      return;
    }
    if (Number.isNaN(count) || count < 0 || count > this.maxElements) {
      this.fail('invalid aggregate length');
    }
    if (this.depth >= this.maxDepth) this.fail(`aggregates nested deeper than ${this.maxDepth}`);
    const attribute = type === RESP_TYPE.attribute;
    const paired = type === RESP_TYPE.map || attribute;
    if (this.depth === 1 && this.headOpen) this.headOpen = false;
    if (this.depth === 0 && !attribute) {
      this.topType =
        type === RESP_TYPE.array
          ? 'array'
          : type === RESP_TYPE.map
            ? 'map'
            : type === RESP_TYPE.set
              ? 'set'
              : 'push';
      this.topText = undefined;
      this.topCount = count;
      this.topHead = [];
      this.headOpen = count > 0;
    }
    if (count === 0) {
      if (!attribute) this.valueDone(at);
      return;
    }
    this.remaining[this.depth] = paired ? count * 2 : count;
    this.isAttribute[this.depth] = attribute;
    this.depth++;
  }

  /** One value finished: close every aggregate it completes; emit a finished top-level reply. */
  private valueDone(at: number): void {
    for (;;) {
      if (this.depth === 0) {
        this.emitReply(at);
        return;
      }
      const i = this.depth - 1;
      const left = (this.remaining[i] ?? 1) - 1;
      this.remaining[i] = left;
      if (left > 0) return;
      this.depth = i;
      // An attribute annotates the value that follows it; it is not a value of its parent.
      if (this.isAttribute[i] === true) return;
    }
  }

  private emitReply(at: number): void {
    const reply: Reply = {
      kind: 'reply',
      type: this.topType,
      text: this.topText,
      count: this.topCount,
      head: this.topHead,
    };
    this.topText = undefined;
    this.topCount = 0;
    this.topHead = [];
    this.headOpen = false;
    this.sink.reply(reply, at);
  }
}
