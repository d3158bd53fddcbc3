/**
 * `portwarden identity scram-verifier` — the `scram_sha256` credential for a token, so
 * PostgreSQL clients can sign in with SCRAM-SHA-256 (docs/identity.md). The token is read
 * from stdin or an environment variable, never from the command line (`ps` would show it).
 */
import { Command } from 'commander';
import { tokenSha256 } from '../../identity/index.js';
import { formatScramVerifier, scramVerifierFor } from '../../protocols/postgres/index.js';
import { runCommand, usage } from '../io.js';

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts).toString('utf8');
}

/** Both credentials of a token, as YAML lines for `identities[].credentials`. */
export function tokenCredentials(token: string, iterations: number): string {
  const verifier = formatScramVerifier(scramVerifierFor(token, undefined, iterations));
  return [
    `- { type: token, sha256: ${tokenSha256(token)} }`,
    `- { type: scram_sha256, verifier: '${verifier}' }`,
    '',
  ].join('\n');
}

export function identityCommand(): Command {
  const identity = new Command('identity').description('helpers for identities[] credentials');
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
    .action((flags: { tokenEnv?: string; iterations: string }) =>
      runCommand(async () => {
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
        process.stdout.write(tokenCredentials(token, iterations));
      }),
    );
  return identity;
}
