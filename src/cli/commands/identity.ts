/**
 * `portwarden identity credentials` / `scram-verifier` — the credentials for a token: its
 * SHA-256, the `scram_sha256` verifier (PostgreSQL SCRAM-SHA-256 sign-in) and, asked for, the
 * `mysql_native_password` hash (docs/identity.md). The token is read from stdin or an
 * environment variable, never from the command line (`ps` would show it).
 *
 * The command is defined in identity-command.ts, which loads this module only when it runs:
 * tokenCredentials needs the identity and protocol modules, too heavy for start-up.
 */
import { tokenSha256 } from '../../identity/index.js';
// The hash modules themselves, not the protocol indexes (which load the SQL parser).
import { nativePasswordHash } from '../../protocols/mysql/scramble.js';
import { formatScramVerifier, scramVerifierFor } from '../../protocols/postgres/scram.js';
import { usage } from '../io.js';

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts).toString('utf8');
}

/** The credentials of a token, as YAML lines for `identities[].credentials`. */
export function tokenCredentials(token: string, iterations: number, mysqlNative = false): string {
  const verifier = formatScramVerifier(scramVerifierFor(token, undefined, iterations));
  return [
    `- { type: token, sha256: ${tokenSha256(token)} }`,
    `- { type: scram_sha256, verifier: '${verifier}' }`,
    ...(mysqlNative
      ? [`- { type: mysql_native_password, hash: '${nativePasswordHash(token)}' }`]
      : []),
    '',
  ].join('\n');
}

export interface TokenFlags {
  tokenEnv?: string;
  iterations: string;
  mysqlNative?: boolean;
}

/** Reads the token (stdin or --token-env) and prints its credentials. */
export async function printCredentials(flags: TokenFlags): Promise<void> {
  const iterations = Number(flags.iterations);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw usage('--iterations must be a positive integer');
  let token: string | undefined;
  if (flags.tokenEnv !== undefined) {
    token = process.env[flags.tokenEnv];
    if (token === undefined) throw usage(`environment variable ${flags.tokenEnv} is not set`);
  } else {
    token = (await readStdin()).replace(/\r?\n$/, '');
  }
  if (token.length === 0) throw usage('empty token');
  process.stdout.write(tokenCredentials(token, iterations, flags.mysqlNative === true));
}
