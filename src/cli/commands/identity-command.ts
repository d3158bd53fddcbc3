/**
 * The `portwarden identity credentials|scram-verifier` command definitions. They live apart
 * from identity.ts (tokenCredentials, which tests use, and the command body) so that start-up
 * loads none of the identity and protocol modules that file needs.
 */
import { Command } from 'commander';
import { runCommand } from '../io.js';
import type { TokenFlags } from './identity.js';

function printLazily(flags: TokenFlags): Promise<void> {
  return runCommand(async () => (await import('./identity.js')).printCredentials(flags));
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
    .action(printLazily);
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
    .action(printLazily);
  return identity;
}
