/**
 * The one error catalogue. Every error portwarden raises on purpose has a stable `code`
 * that users and scripts match on; `docs/errors.md` lists every code (a test keeps the two
 * in sync). Messages are templates filled from named parameters.
 */

export const ERROR_CATALOGUE = {
  PW_ERR_CONFIG: { message: '{detail}', exit: 2 },
  PW_ERR_CONFIG_READ: { message: 'cannot read config file {file}: {detail}', exit: 2 },
  PW_ERR_USAGE: { message: '{detail}', exit: 2 },
  PW_ERR_LISTEN: { message: 'listener {listener} cannot listen on {address}: {detail}', exit: 2 },
  PW_ERR_STORE: { message: 'audit store failure: {detail}', exit: 2 },
  PW_ERR_STORE_UNAVAILABLE: {
    message: 'audit store cannot take records ({detail}); refusing new traffic',
    exit: 2,
  },
  PW_ERR_STORE_SCHEMA: {
    message: 'store schema {found} is newer than this build ({expected})',
    exit: 2,
  },
  PW_ERR_PROTOCOL: { message: '{protocol} protocol violation: {detail}', exit: 2 },
  PW_ERR_PROXY_HEADER: { message: 'PROXY protocol header rejected: {detail}', exit: 2 },
  PW_ERR_PROXY_UNTRUSTED: { message: 'PROXY header from untrusted peer {peer}', exit: 2 },
  PW_ERR_POLICY: { message: 'policy error: {detail}', exit: 2 },
  PW_ERR_POLICY_DENIED: { message: 'denied by policy {policy} rule {rule}', exit: 1 },
  PW_ERR_UPSTREAM_TIMEOUT: { message: 'upstream {target} did not answer within {ms} ms', exit: 2 },
  PW_ERR_UPSTREAM_UNREACHABLE: { message: 'upstream {target} unreachable: {detail}', exit: 2 },
  PW_ERR_LIMIT: { message: 'connection limit reached: {detail}', exit: 2 },
  PW_ERR_KEY: { message: 'node key problem: {detail}', exit: 2 },
  PW_ERR_VERIFY_TAMPERED: { message: 'record tampered at sequence {sequence}: {detail}', exit: 1 },
  PW_ERR_VERIFY_INPUT: { message: 'cannot verify: {detail}', exit: 2 },
  PW_ERR_PROOF: { message: 'proof failed: {detail}', exit: 1 },
  PW_ERR_NOT_FOUND: { message: '{what} not found', exit: 2 },
  PW_ERR_QUERY: { message: 'bad query: {detail}', exit: 2 },
  PW_ERR_API_AUTH: { message: 'API request refused: {detail}', exit: 2 },
  PW_ERR_API_CALL: { message: 'API call {method} {url} failed: {detail}', exit: 2 },
  PW_ERR_INTERNAL: { message: 'internal error: {detail}', exit: 2 },
} as const satisfies Record<string, { message: string; exit: 0 | 1 | 2 }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Base class of every portwarden error: a stable code, a filled message, the cause kept. */
export class PortwardenError extends Error {
  readonly code: ErrorCode;
  readonly params: Readonly<Record<string, string | number>>;
  readonly exitCode: 0 | 1 | 2;

  constructor(
    code: ErrorCode,
    params: Record<string, string | number> = {},
    options: { cause?: unknown } = {},
  ) {
    super(
      formatMessage(code, params),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'PortwardenError';
    this.code = code;
    this.params = params;
    this.exitCode = ERROR_CATALOGUE[code].exit;
  }
}

/** A wire-protocol violation found by a parser; sessions record it, then close natively. */
export class ProtocolError extends PortwardenError {
  readonly protocol: string;
  readonly detail: string;
  constructor(protocol: string, detail: string) {
    super('PW_ERR_PROTOCOL', { protocol, detail });
    this.name = 'ProtocolError';
    this.protocol = protocol;
    this.detail = detail;
  }
}

function formatMessage(code: ErrorCode, params: Record<string, string | number>): string {
  return ERROR_CATALOGUE[code].message.replace(/\{(\w+)\}/g, (_m, key: string) =>
    key in params ? String(params[key]) : `{${key}}`,
  );
}

/** The message of anything thrown, for logs and records. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
