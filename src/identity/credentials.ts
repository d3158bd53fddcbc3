/**
 * Target credentials the gateway logs in with (`auth: gateway`): a user and a password from
 * an environment variable or a file, read when a connection needs them — never recorded,
 * never logged.
 */
import { readFileSync } from 'node:fs';
import type { ListenerConfig } from '../config/index.js';
import { PortwardenError, errorMessage } from '../errors.js';

export interface UpstreamCredentials {
  readonly user?: string;
  readonly password?: string;
  /** HTTP: the header that replaces the client's Authorization. */
  readonly header?: { readonly name: string; readonly value: string };
}

type CredentialSettings = Pick<
  ListenerConfig,
  'name' | 'upstream_user' | 'upstream_password_env' | 'upstream_password_file' | 'upstream_header'
>;

/** Resolve a listener's target credentials now (env and files are read on each call). */
export function upstreamCredentials(
  l: CredentialSettings,
  env: NodeJS.ProcessEnv = process.env,
): UpstreamCredentials {
  let password: string | undefined;
  if (l.upstream_password_env !== undefined) {
    password = env[l.upstream_password_env];
    if (password === undefined)
      throw missing(l.name, `environment variable ${l.upstream_password_env} is not set`);
  } else if (l.upstream_password_file !== undefined) {
    try {
      password = readFileSync(l.upstream_password_file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw missing(l.name, `upstream_password_file: ${errorMessage(err)}`);
    }
  }
  let header: UpstreamCredentials['header'];
  if (l.upstream_header !== undefined) {
    const value = env[l.upstream_header.value_env];
    if (value === undefined)
      throw missing(l.name, `environment variable ${l.upstream_header.value_env} is not set`);
    header = { name: l.upstream_header.name, value };
  }
  return {
    ...(l.upstream_user === undefined ? {} : { user: l.upstream_user }),
    ...(password === undefined ? {} : { password }),
    ...(header === undefined ? {} : { header }),
  };
}

function missing(listener: string, detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_CONFIG', {
    detail: `listener ${listener}: target credentials unavailable: ${detail}`,
  });
}
