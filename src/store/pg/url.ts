/**
 * The `store:` URL of a PostgreSQL store: `postgres://user[:password]@host[:port]/db` with
 * portwarden's own query parameter `schema` (the PostgreSQL schema that holds this store's
 * tables, default `portwarden`) taken out; every other parameter (sslmode, …) goes to the
 * driver unchanged. Passwords never reach a message: `redacted` is what errors show.
 */
import { PortwardenError } from '../../errors.js';
import { SCHEMA_NAME } from './schema.js';

export interface PgStoreUrl {
  /** The connection string for the driver (without `schema`). */
  readonly connection: string;
  readonly schema: string;
  /** The URL with its password replaced, for messages. */
  readonly redacted: string;
}

export const DEFAULT_SCHEMA = 'portwarden';

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

export function parseStoreUrl(value: string): PgStoreUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PortwardenError('PW_ERR_CONFIG', {
      detail: 'store: not a valid postgres:// URL',
    });
  }
  if (!isPostgresUrl(value)) {
    throw new PortwardenError('PW_ERR_CONFIG', {
      detail: `store: expected postgres://, got ${url.protocol}//`,
    });
  }
  const schema = url.searchParams.get('schema') ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new PortwardenError('PW_ERR_CONFIG', {
      detail: `store: schema must match ${SCHEMA_NAME.source} (lower case letters, digits, _), got ${JSON.stringify(schema.slice(0, 80))}`,
    });
  }
  url.searchParams.delete('schema');
  const redacted = new URL(url.href);
  if (redacted.password !== '') redacted.password = '***';
  if (redacted.searchParams.has('password')) redacted.searchParams.set('password', '***');
  redacted.searchParams.set('schema', schema);
  return { connection: url.href, schema, redacted: redacted.href };
}

/** Why `value` is not a usable `store:` URL, or null (config validation). */
export function storeUrlProblem(value: string): string | null {
  try {
    parseStoreUrl(value);
    return null;
  } catch (err) {
    return err instanceof PortwardenError ? err.message.replace(/^store: /, '') : String(err);
  }
}
