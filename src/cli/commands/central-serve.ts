/**
 * `portwarden central serve` — the read API and the dashboard over the central store
 * (src/api/central). Tokens as for the gateway API: without any it listens on loopback only.
 */
import { Command, Option } from 'commander';
import { runCommand } from '../io.js';

export interface ServeFlags {
  readonly store: string;
  readonly listen: string;
  readonly token?: string[];
  readonly tokenSha256?: string[];
  readonly key?: string[];
  readonly keysFile?: string;
  /** --web DIR, or false with --no-web. */
  readonly web?: string | false;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('the read API and dashboard over the records of every node (read-only)')
    .addOption(
      new Option('--store <url>', 'central store: postgres://user@host/db')
        .env('PORTWARDEN_CENTRAL_STORE')
        .makeOptionMandatory(),
    )
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8443')
    .option(
      '--token <name:role:env...>',
      'a bearer token read from an environment variable (role viewer, auditor or admin)',
    )
    .option('--token-sha256 <name:role:hex...>', 'a bearer token given by its SHA-256')
    .option('--key <verifier...>', "nodes' verifier keys (for verify now)")
    .option('--keys-file <file>', 'verifier keys, one per line')
    .option('--web <dir>', 'the built dashboard (default dist/web)')
    .option('--no-web', 'serve the API only')
    .addHelpText(
      'after',
      `
Without tokens the API is open to reads and listens on loopback only; with tokens it may
listen anywhere and every request needs one. Stop with SIGTERM or SIGINT.

Examples:
  portwarden central serve --store postgres://pw@db/central
  API_TOKEN=… portwarden central serve --store postgres://pw@db/central \\
      --listen 0.0.0.0:8443 --token ops:auditor:API_TOKEN --keys-file /etc/portwarden/node-keys
`,
    )
    .action((f: ServeFlags) =>
      runCommand(async () => (await import('./central-serve-run.js')).runServe(f)),
    );
}
