/**
 * PostgreSQL protocol 3.x messages as plain readonly data (protocol-message-formats).
 * Only the fields the record and policy need are decoded; everything else is forwarded
 * as the original bytes.
 */

/** Type bytes of messages the client sends (protocol-message-formats). */
export const FrontendCode = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  FunctionCall: 0x46, // 'F'
  Flush: 0x48, // 'H'
  Parse: 0x50, // 'P'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
  CopyFail: 0x66, // 'f'
  CopyDone: 0x63, // 'c'
  CopyData: 0x64, // 'd'
  Password: 0x70, // 'p' (password, SASLInitialResponse, SASLResponse, GSSResponse)
} as const;

/** Type bytes of messages the server sends (protocol-message-formats). */
export const BackendCode = {
  ParseComplete: 0x31, // '1'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  NotificationResponse: 0x41, // 'A'
  CommandComplete: 0x43, // 'C'
  DataRow: 0x44, // 'D'
  ErrorResponse: 0x45, // 'E'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  EmptyQueryResponse: 0x49, // 'I'
  BackendKeyData: 0x4b, // 'K'
  NoticeResponse: 0x4e, // 'N'
  Authentication: 0x52, // 'R'
  ParameterStatus: 0x53, // 'S'
  RowDescription: 0x54, // 'T'
  FunctionCallResponse: 0x56, // 'V'
  CopyBothResponse: 0x57, // 'W'
  ReadyForQuery: 0x5a, // 'Z'
  CopyDone: 0x63, // 'c'
  CopyData: 0x64, // 'd'
  NoData: 0x6e, // 'n'
  PortalSuspended: 0x73, // 's'
  ParameterDescription: 0x74, // 't'
  NegotiateProtocolVersion: 0x76, // 'v'
} as const;

/** Request codes of the startup-phase messages, which carry no type byte (protocol-message-formats). */
export const StartupCode = {
  SSLRequest: 80877103, // 1234 << 16 | 5679
  GSSENCRequest: 80877104, // 1234 << 16 | 5680
  CancelRequest: 80877102, // 1234 << 16 | 5678
} as const;

/** Authentication request codes carried by 'R' (protocol-message-formats). */
export const AuthCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** Transaction status in ReadyForQuery: 'I' idle, 'T' in a block, 'E' in a failed block. */
export type TransactionStatus = 'I' | 'T' | 'E';

export type FrontendMessage =
  | {
      readonly type: 'StartupMessage';
      /** major << 16 | minor, e.g. 196608 for 3.0. */
      readonly protocolVersion: number;
      readonly parameters: Readonly<Record<string, string>>;
    }
  | { readonly type: 'SSLRequest' }
  | { readonly type: 'GSSENCRequest' }
  | { readonly type: 'CancelRequest'; readonly processId: number; readonly secretKey: Buffer }
  | { readonly type: 'Query'; readonly text: string }
  | {
      readonly type: 'Parse';
      readonly name: string;
      readonly text: string;
      readonly parameterTypes: readonly number[];
    }
  | {
      readonly type: 'Bind';
      readonly portal: string;
      readonly statement: string;
      /** 0 text, 1 binary; one code for all, one per parameter, or none (all text). */
      readonly parameterFormats: readonly number[];
      /** Views into the message (null for SQL NULL): copy before keeping. */
      readonly parameters: readonly (Buffer | null)[];
    }
  | { readonly type: 'Execute'; readonly portal: string; readonly maxRows: number }
  | { readonly type: 'Close'; readonly target: 'statement' | 'portal'; readonly name: string }
  | { readonly type: 'Describe'; readonly target: 'statement' | 'portal'; readonly name: string }
  | { readonly type: 'Sync' }
  | { readonly type: 'Flush' }
  | { readonly type: 'Terminate' }
  | { readonly type: 'CopyDone' }
  | { readonly type: 'CopyFail'; readonly message: string }
  | { readonly type: 'FunctionCall'; readonly functionOid: number; readonly argumentCount: number }
  /** Body passed through by count, never buffered. */
  | { readonly type: 'CopyData'; readonly length: number }
  /** Password / SASL / GSS response: passed through by count, never decoded. */
  | { readonly type: 'PasswordMessage'; readonly length: number };

/** The fields of an ErrorResponse the record needs (protocol-error-fields). */
export interface ErrorFields {
  readonly severity: string;
  readonly sqlstate: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

export type BackendMessage =
  | { readonly type: 'Authentication'; readonly code: number }
  | { readonly type: 'BackendKeyData'; readonly processId: number; readonly secretKey: Buffer }
  | { readonly type: 'ParameterStatus'; readonly name: string; readonly value: string }
  | { readonly type: 'ReadyForQuery'; readonly status: TransactionStatus }
  | { readonly type: 'CommandComplete'; readonly tag: string }
  | { readonly type: 'ErrorResponse'; readonly fields: ErrorFields }
  | { readonly type: 'EmptyQueryResponse' }
  | { readonly type: 'PortalSuspended' }
  | { readonly type: 'ParseComplete' }
  | { readonly type: 'BindComplete' }
  | { readonly type: 'CloseComplete' }
  | { readonly type: 'NoData' }
  | { readonly type: 'CopyDone' }
  | {
      readonly type: 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse';
      readonly binary: boolean;
      readonly columnCount: number;
    }
  | {
      readonly type: 'NegotiateProtocolVersion';
      readonly minorVersion: number;
      readonly unrecognizedOptions: readonly string[];
    };

/** Bodyless messages are shared singletons. */
export const SYNC = { type: 'Sync' } as const satisfies FrontendMessage;
export const FLUSH = { type: 'Flush' } as const satisfies FrontendMessage;
export const TERMINATE = { type: 'Terminate' } as const satisfies FrontendMessage;
export const FRONTEND_COPY_DONE = { type: 'CopyDone' } as const satisfies FrontendMessage;
export const SSL_REQUEST = { type: 'SSLRequest' } as const satisfies FrontendMessage;
export const GSSENC_REQUEST = { type: 'GSSENCRequest' } as const satisfies FrontendMessage;
export const EMPTY_QUERY_RESPONSE = {
  type: 'EmptyQueryResponse',
} as const satisfies BackendMessage;
export const PORTAL_SUSPENDED = { type: 'PortalSuspended' } as const satisfies BackendMessage;
export const PARSE_COMPLETE = { type: 'ParseComplete' } as const satisfies BackendMessage;
export const BIND_COMPLETE = { type: 'BindComplete' } as const satisfies BackendMessage;
export const CLOSE_COMPLETE = { type: 'CloseComplete' } as const satisfies BackendMessage;
export const NO_DATA = { type: 'NoData' } as const satisfies BackendMessage;
export const BACKEND_COPY_DONE = { type: 'CopyDone' } as const satisfies BackendMessage;
