import { ProtocolError } from '../../errors.js';
import { Framer, FrameKind, kindTable, MAX_STREAMED_MESSAGE } from './framer.js';
import type { FrameSink, FramerLimits } from './framer.js';
import {
  BACKEND_COPY_DONE,
  BackendCode,
  BIND_COMPLETE,
  CLOSE_COMPLETE,
  EMPTY_QUERY_RESPONSE,
  NO_DATA,
  PARSE_COMPLETE,
  PORTAL_SUSPENDED,
} from './messages.js';
import type { BackendMessage, ErrorFields, TransactionStatus } from './messages.js';
import { BufferReader } from './reader.js';

/** Receives server messages in order; offsets are into the chunk being pushed. */
export interface BackendHandler {
  /** A decoded message; `end` is the chunk offset just past it. */
  message(msg: BackendMessage, end: number): void;
  /** A message passed through by count (DataRow, CopyData, RowDescription, notices, …). */
  skipped(code: number, bodyLength: number): void;
  /** The last skipped message ended at chunk offset `end`. */
  skippedEnd(end: number): void;
}

const BACKEND_KINDS = kindTable(
  [
    BackendCode.ParseComplete,
    BackendCode.BindComplete,
    BackendCode.CloseComplete,
    BackendCode.CommandComplete,
    BackendCode.ErrorResponse,
    BackendCode.CopyInResponse,
    BackendCode.CopyOutResponse,
    BackendCode.CopyBothResponse,
    BackendCode.EmptyQueryResponse,
    BackendCode.BackendKeyData,
    BackendCode.Authentication,
    BackendCode.ParameterStatus,
    BackendCode.ReadyForQuery,
    BackendCode.CopyDone,
    BackendCode.NoData,
    BackendCode.PortalSuspended,
    BackendCode.NegotiateProtocolVersion,
  ],
  // Everything else (DataRow, CopyData, RowDescription, notices, and types newer than this
  // code) passes through by count: a new server message must not break the connection.
  [],
  FrameKind.Skip,
);

/** Incremental, bounded parser of what a PostgreSQL server sends after the startup packet. */
export class BackendParser {
  private readonly framer: Framer;

  constructor(
    private readonly handler: BackendHandler,
    limits: Partial<FramerLimits> & Pick<FramerLimits, 'maxMessageBytes'>,
  ) {
    const sink: FrameSink = {
      frame: (code, body, _raw, end) => this.handler.message(decodeBackend(code, body), end),
      skipStart: (code, bodyLength) => this.handler.skipped(code, bodyLength),
      skipBytes: () => undefined,
      skipEnd: (end) => this.handler.skippedEnd(end),
    };
    this.framer = new Framer(
      BACKEND_KINDS,
      {
        maxMessageBytes: limits.maxMessageBytes,
        maxStreamedBytes: limits.maxStreamedBytes ?? MAX_STREAMED_MESSAGE,
      },
      sink,
      'backend',
      false,
    );
  }

  /** Feeds one chunk; throws ProtocolError on a violation (the parser is then unusable). */
  push(chunk: Buffer): void {
    this.framer.push(chunk);
  }

  /** True when no message is partly read (bytes of our own may be sent to the client now). */
  atBoundary(): boolean {
    return this.framer.atBoundary();
  }

  bufferedBytes(): number {
    return this.framer.bufferedBytes();
  }
}

function bodyless(body: Buffer, msg: BackendMessage): BackendMessage {
  if (body.length !== 0)
    throw new ProtocolError('postgres', `${msg.type}: ${body.length} unexpected bytes`);
  return msg;
}

/** Decodes a server message whose body is whole. */
export function decodeBackend(code: number, body: Buffer): BackendMessage {
  switch (code) {
    case BackendCode.Authentication: {
      // SASL mechanisms and challenge data follow the code; only the code is read.
      const reader = new BufferReader(body, 'Authentication');
      return { type: 'Authentication', code: reader.int32() };
    }
    case BackendCode.BackendKeyData: {
      const reader = new BufferReader(body, 'BackendKeyData');
      const processId = reader.int32();
      const key = reader.rest();
      if (key.length < 4 || key.length > 256) {
        throw new ProtocolError('postgres', `BackendKeyData: key of ${key.length} bytes`);
      }
      return { type: 'BackendKeyData', processId, secretKey: Buffer.from(key) };
    }
    case BackendCode.ParameterStatus: {
      const reader = new BufferReader(body, 'ParameterStatus');
      const name = reader.cstring();
      const value = reader.cstring();
      reader.end();
      return { type: 'ParameterStatus', name, value };
    }
    case BackendCode.ReadyForQuery: {
      const reader = new BufferReader(body, 'ReadyForQuery');
      const status = transactionStatus(reader.byte());
      reader.end();
      return { type: 'ReadyForQuery', status };
    }
    case BackendCode.CommandComplete: {
      const reader = new BufferReader(body, 'CommandComplete');
      const tag = reader.cstring();
      reader.end();
      return { type: 'CommandComplete', tag };
    }
    case BackendCode.ErrorResponse:
      return { type: 'ErrorResponse', fields: decodeErrorFields(body) };
    case BackendCode.CopyInResponse:
    case BackendCode.CopyOutResponse:
    case BackendCode.CopyBothResponse: {
      const type =
        code === BackendCode.CopyInResponse
          ? 'CopyInResponse'
          : code === BackendCode.CopyOutResponse
            ? 'CopyOutResponse'
            : 'CopyBothResponse';
      const reader = new BufferReader(body, type);
      const binary = reader.byte() !== 0;
      const columnCount = reader.int16();
      if (columnCount < 0) throw new ProtocolError('postgres', `${type}: negative column count`);
      reader.bytes(columnCount * 2);
      reader.end();
      return { type, binary, columnCount };
    }
    case BackendCode.NegotiateProtocolVersion: {
      const reader = new BufferReader(body, 'NegotiateProtocolVersion');
      const minorVersion = reader.int32();
      const count = reader.int32();
      if (count < 0 || count > reader.remaining()) {
        throw new ProtocolError('postgres', `NegotiateProtocolVersion: ${count} options`);
      }
      const unrecognizedOptions: string[] = [];
      for (let i = 0; i < count; i++) unrecognizedOptions.push(reader.cstring());
      reader.end();
      return { type: 'NegotiateProtocolVersion', minorVersion, unrecognizedOptions };
    }
    case BackendCode.EmptyQueryResponse:
      return bodyless(body, EMPTY_QUERY_RESPONSE);
    case BackendCode.PortalSuspended:
      return bodyless(body, PORTAL_SUSPENDED);
    case BackendCode.ParseComplete:
      return bodyless(body, PARSE_COMPLETE);
    case BackendCode.BindComplete:
      return bodyless(body, BIND_COMPLETE);
    case BackendCode.CloseComplete:
      return bodyless(body, CLOSE_COMPLETE);
    case BackendCode.NoData:
      return bodyless(body, NO_DATA);
    case BackendCode.CopyDone:
      return bodyless(body, BACKEND_COPY_DONE);
    default:
      throw new ProtocolError('postgres', `backend: type 0x${code.toString(16)} is not decoded`);
  }
}

function transactionStatus(byte: number): TransactionStatus {
  if (byte === 0x49) return 'I'; // 'I' idle
  if (byte === 0x54) return 'T'; // 'T' in a transaction block
  if (byte === 0x45) return 'E'; // 'E' in a failed transaction block
  throw new ProtocolError('postgres', `ReadyForQuery: unknown status 0x${byte.toString(16)}`);
}

/** ErrorResponse / NoticeResponse fields: (code byte, string)* then \0 — protocol-error-fields. */
export function decodeErrorFields(body: Buffer): ErrorFields {
  const reader = new BufferReader(body, 'ErrorResponse');
  let severity = '';
  let unlocalized = '';
  let sqlstate = '';
  let message = '';
  let detail: string | undefined;
  let hint: string | undefined;
  for (;;) {
    const field = reader.byte();
    if (field === 0) break;
    const value = reader.cstring();
    switch (field) {
      case 0x53: // 'S' severity (localized)
        severity = value;
        break;
      case 0x56: // 'V' severity (never localized)
        unlocalized = value;
        break;
      case 0x43: // 'C' SQLSTATE
        sqlstate = value;
        break;
      case 0x4d: // 'M' message
        message = value;
        break;
      case 0x44: // 'D' detail
        detail = value;
        break;
      case 0x48: // 'H' hint
        hint = value;
        break;
      default:
        break;
    }
  }
  reader.end();
  const fields: ErrorFields = { severity: unlocalized || severity, sqlstate, message };
  if (detail === undefined && hint === undefined) return fields;
  return {
    ...fields,
    ...(detail === undefined ? {} : { detail }),
    ...(hint === undefined ? {} : { hint }),
  };
}
