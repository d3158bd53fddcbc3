/**
 * `portwarden identity credentials` / `scram-verifier` — the credentials for a token: its
 * SHA-256, the `scram_sha256` verifier (PostgreSQL SCRAM-SHA-256 sign-in) and, asked for, the
 * `mysql_native_password` hash (docs/identity.md). The token is read from stdin or an
 * environment variable, never from the command line (`ps` would show it).
 */
import { Command } from 'commander';
import { tokenSha256 } from '../../identity/index.js';
import { nativePasswordHash } from '../../protocols/mysql/index.js';
import { formatScramVerifier, scramVerifierFor } from '../../protocols/postgres/index.js';
import { runCommand, usage } from '../io.js';

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

interface TokenFlags {
  tokenEnv?: string;
  iterations: string;
  mysqlNative?: boolean;
}

/** Reads the token (stdin or --token-env) and prints its credentials. */
function printCredentials(flags: TokenFlags): Promise<void> {
  return runCommand(async () => {
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
  });
}

export function identityCommand(): Command {
  const identity = new Command('identity').description('helpers for identities[] credentials');
  identity
    .command('credentials')
    .description('print the credentials[] entries for a token read from stdin')
    .option('--token-env <var>', 'read the token from this environment variable instead')
    .option('--iterations <n>', 'PBKDF2 iterations of the SCRAM verifier', '4096')
    .option(
      '--mysql-native',
      'also print the mysql_native_password hash (SHA1(SHA1(token)), as MySQL stores it)',
    )
    .addHelpText(
      'after',
      `
Prints a token credential (its SHA-256), a scram_sha256 verifier (PostgreSQL SCRAM-SHA-256)
and, with --mysql-native, a mysql_native_password hash (MySQL/MariaDB clients that sign in
with mysql_native_password, on any client leg). Paste them under identities[].credentials.

Examples:
  printf %s "$TOKEN" | portwarden identity credentials
  printf %s "$TOKEN" | portwarden identity credentials --mysql-native
  portwarden identity credentials --token-env ALICE_TOKEN --mysql-native
`,
    )
    .action((flags: TokenFlags) => printCredentials(flags));
  identity
    .command('scram-verifier')
    .description('print the token and scram_sha256 credentials for a token read from stdin')
    .option('--token-env <var>', 'read the token from this environment variable instead')
    .option('--iterations <n>', 'PBKDF2 iterations (PostgreSQL default 4096)', '4096')
    .addHelpText(
      'after',
      `
Examples:
  printf %s "$TOKEN" | portwarden identity scram-verifier
  portwarden identity scram-verifier --token-env ALICE_TOKEN
`,
    )
    .action((flags: TokenFlags) => printCredentials(flags));
  return identity;
}
