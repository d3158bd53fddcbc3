import { ProtocolError } from '../../errors.js';
import { Framer, FrameKind, kindTable, MAX_STREAMED_MESSAGE } from './framer.js';
import type { FrameSink, FramerLimits } from './framer.js';
import {
  FLUSH,
  FRONTEND_COPY_DONE,
  FrontendCode,
  GSSENC_REQUEST,
  SSL_REQUEST,
  StartupCode,
  SYNC,
  TERMINATE,
} from './messages.js';
import type { FrontendMessage } from './messages.js';
import { BufferReader } from './reader.js';

/** Protocol 3.2 lets the cancel key be up to 256 bytes (protocol-message-formats, CancelRequest). */
export const MAX_CANCEL_KEY_BYTES = 256;

/** Receives client messages in order. */
export interface FrontendHandler {
  /**
   * One message; `raw` is its original bytes (for a passed-through message: its header
   * only); `end` is the offset in the pushed chunk just past `raw`.
   */
  message(msg: FrontendMessage, raw: Buffer, end: number): void;
  /** Body bytes of the last CopyData / password message, in order (views: copy to keep). */
  body(bytes: Buffer): void;
}

const FRONTEND_KINDS = kindTable(
  [
    FrontendCode.Bind,
    FrontendCode.Close,
    FrontendCode.Describe,
    FrontendCode.Execute,
    FrontendCode.FunctionCall,
    FrontendCode.Flush,
    FrontendCode.Parse,
    FrontendCode.Query,
    FrontendCode.Sync,
    FrontendCode.Terminate,
    FrontendCode.CopyFail,
    FrontendCode.CopyDone,
  ],
  [FrontendCode.CopyData, FrontendCode.Password],
  FrameKind.Invalid,
);

/** Incremental, bounded parser of what a PostgreSQL client sends, startup phase included. */
export class FrontendParser {
  private readonly framer: Framer;
  private chunk: Buffer = Buffer.alloc(0);

  constructor(
    private readonly handler: FrontendHandler,
    limits: Partial<FramerLimits> & Pick<FramerLimits, 'maxMessageBytes'>,
  ) {
    const sink: FrameSink = {
      frame: (code, body, raw, end) => this.onFrame(code, body, raw, end),
      skipStart: (code, bodyLength, end) => this.onSkipStart(code, bodyLength, end),
      skipBytes: (chunk, start, end) => this.handler.body(chunk.subarray(start, end)),
      skipEnd: () => undefined,
    };
    this.framer = new Framer(
      FRONTEND_KINDS,
      {
        maxMessageBytes: limits.maxMessageBytes,
        maxStreamedBytes: limits.maxStreamedBytes ?? MAX_STREAMED_MESSAGE,
      },
      sink,
      'frontend',
      true,
    );
  }

  /** Feeds one chunk; throws ProtocolError on a violation (the parser is then unusable). */
  push(chunk: Buffer): void {
    this.chunk = chunk;
    this.framer.push(chunk);
  }

  /** True when no message is partly read. */
  atBoundary(): boolean {
    return this.framer.atBoundary();
  }

  bufferedBytes(): number {
    return this.framer.bufferedBytes();
  }

  private onSkipStart(code: number, bodyLength: number, end: number): void {
    // The header is in this chunk unless it was split; rebuild it then (it is only type + length).
    const raw = end >= 5 ? this.chunk.subarray(end - 5, end) : header(code, bodyLength);
    const msg: FrontendMessage =
      code === FrontendCode.CopyData
        ? { type: 'CopyData', length: bodyLength }
        : { type: 'PasswordMessage', length: bodyLength };
    this.handler.message(msg, raw, end);
  }

  private onFrame(code: number, body: Buffer, raw: Buffer, end: number): void {
    if (code === 0) {
      const msg = decodeStartup(body);
      if (msg.type === 'StartupMessage') this.framer.setTyped();
      this.handler.message(msg, raw, end);
      return;
    }
    this.handler.message(decodeTyped(code, body), raw, end);
  }
}

function header(code: number, bodyLength: number): Buffer {
  const bytes = Buffer.allocUnsafe(5);
  bytes[0] = code;
  bytes.writeInt32BE(bodyLength + 4, 1);
  return bytes;
}

/** Startup-phase packet body (after the length): a request code or protocol version first. */
export function decodeStartup(body: Buffer): FrontendMessage {
  const reader = new BufferReader(body, 'startup packet');
  const code = reader.int32();
  switch (code) {
    case StartupCode.SSLRequest:
      reader.end();
      return SSL_REQUEST;
    case StartupCode.GSSENCRequest:
      reader.end();
      return GSSENC_REQUEST;
    case StartupCode.CancelRequest: {
      const processId = reader.int32();
      const key = reader.rest();
      if (key.length < 4 || key.length > MAX_CANCEL_KEY_BYTES) {
        throw new ProtocolError('postgres', `CancelRequest: key of ${key.length} bytes`);
      }
      return { type: 'CancelRequest', processId, secretKey: Buffer.from(key) };
    }
    default:
      break;
  }
  if (code >>> 16 !== 3) {
    throw new ProtocolError(
      'postgres',
      `unsupported protocol version ${code >>> 16}.${code & 0xffff}`,
    );
  }
  const parameters: Record<string, string> = {};
  // Pairs of name\0 value\0, ended by a lone \0 — protocol-message-formats, StartupMessage.
  for (;;) {
    const name = reader.cstring();
    if (name === '') break;
    parameters[name] = reader.cstring();
  }
  reader.end();
  return { type: 'StartupMessage', protocolVersion: code, parameters };
}

function target(byte: number, what: string): 'statement' | 'portal' {
  if (byte === 0x53) return 'statement'; // 'S'
  if (byte === 0x50) return 'portal'; // 'P'
  throw new ProtocolError('postgres', `${what}: unknown target 0x${byte.toString(16)}`);
}

/** Decodes a typed client message whose body is whole. */
export function decodeTyped(code: number, body: Buffer): FrontendMessage {
  switch (code) {
    case FrontendCode.Query: {
      const reader = new BufferReader(body, 'Query');
      const text = reader.cstring();
      reader.end();
      return { type: 'Query', text };
    }
    case FrontendCode.Parse: {
      const reader = new BufferReader(body, 'Parse');
      const name = reader.cstring();
      const text = reader.cstring();
      const count = reader.int16();
      if (count < 0 || count * 4 > reader.remaining())
        throw new ProtocolError('postgres', `Parse: ${count} parameter types`);
      const parameterTypes: number[] = new Array<number>(count);
      for (let i = 0; i < count; i++) parameterTypes[i] = reader.int32() >>> 0;
      reader.end();
      return { type: 'Parse', name, text, parameterTypes };
    }
    case FrontendCode.Bind:
      return decodeBind(body);
    case FrontendCode.Execute: {
      const reader = new BufferReader(body, 'Execute');
      const portal = reader.cstring();
      const maxRows = reader.int32();
      reader.end();
      return { type: 'Execute', portal, maxRows };
    }
    case FrontendCode.Close:
    case FrontendCode.Describe: {
      const what = code === FrontendCode.Close ? 'Close' : 'Describe';
      const reader = new BufferReader(body, what);
      const kind = target(reader.byte(), what);
      const name = reader.cstring();
      reader.end();
      return { type: what, target: kind, name };
    }
    case FrontendCode.FunctionCall: {
      // Only the function and the argument count: the arguments are forwarded untouched.
      const reader = new BufferReader(body, 'FunctionCall');
      const functionOid = reader.int32() >>> 0;
      const formatCount = reader.int16();
      if (formatCount < 0)
        throw new ProtocolError('postgres', 'FunctionCall: negative format count');
      reader.bytes(formatCount * 2);
      const argumentCount = reader.int16();
      if (argumentCount < 0)
        throw new ProtocolError('postgres', 'FunctionCall: negative argument count');
      return { type: 'FunctionCall', functionOid, argumentCount };
    }
    case FrontendCode.CopyFail: {
      const reader = new BufferReader(body, 'CopyFail');
      const message = reader.cstring();
      reader.end();
      return { type: 'CopyFail', message };
    }
    case FrontendCode.Sync:
      return bodyless(body, SYNC);
    case FrontendCode.Flush:
      return bodyless(body, FLUSH);
    case FrontendCode.Terminate:
      return bodyless(body, TERMINATE);
    case FrontendCode.CopyDone:
      return bodyless(body, FRONTEND_COPY_DONE);
    default:
      throw new ProtocolError('postgres', `frontend: unknown message type 0x${code.toString(16)}`);
  }
}

function bodyless(body: Buffer, msg: FrontendMessage): FrontendMessage {
  if (body.length !== 0)
    throw new ProtocolError('postgres', `${msg.type}: ${body.length} unexpected bytes`);
  return msg;
}

function decodeBind(body: Buffer): FrontendMessage {
  const reader = new BufferReader(body, 'Bind');
  const portal = reader.cstring();
  const statement = reader.cstring();
  const formatCount = reader.int16();
  if (formatCount < 0 || formatCount * 2 > reader.remaining()) {
    throw new ProtocolError('postgres', `Bind: ${formatCount} parameter formats`);
  }
  const parameterFormats: number[] = new Array<number>(formatCount);
  for (let i = 0; i < formatCount; i++) parameterFormats[i] = reader.int16();
  const count = reader.int16();
  // Every parameter takes at least its 4-byte length, so the count is bounded by the body.
  if (count < 0 || count * 4 > reader.remaining())
    throw new ProtocolError('postgres', `Bind: ${count} parameters`);
  const parameters: (Buffer | null)[] = new Array<Buffer | null>(count);
  for (let i = 0; i < count; i++) {
    const length = reader.int32();
    if (length === -1) parameters[i] = null;
    else if (length < 0) throw new ProtocolError('postgres', `Bind: parameter length ${length}`);
    else parameters[i] = reader.bytes(length);
  }
  // Result-column format codes follow; they are forwarded, not needed.
  const resultFormats = reader.int16();
  if (resultFormats < 0) throw new ProtocolError('postgres', 'Bind: negative result format count');
  reader.bytes(resultFormats * 2);
  reader.end();
  return { type: 'Bind', portal, statement, parameterFormats, parameters };
}
