/**
 * `portwarden grant` — just-in-time access. `grant --identity alice --listener orders-db
 * --for 2h --reason INC-1234 [--operations read]` hands a grant to the gateway through
 * `<data_dir>/grant-requests/` (the record names the OS user), or with `--api URL
 * --token-file F` through the gateway's API (the record names the admin token); the gateway
 * records it (`event.action: grant`) and policy rules with `grant: required` allow alice on
 * that listener until it expires. `grant list` shows grants in force (from the records);
 * `grant revoke ID` ends one early.
 */
import { Command } from 'commander';
// identity/grants.js, not the identity index: the index loads JWT and JWKS code at start-up.
import { GRANT_OPERATIONS } from '../../identity/grants.js';
import { runCommand } from '../io.js';

function listCommand(): Command {
  return new Command('list')
    .description('grants in force (from the audit records) and requests not yet recorded')
    .option('--all', 'include expired grants')
    .action((flags: { all?: boolean }, command: Command) =>
      runCommand(async () => (await import('./grant-run.js')).runGrantList(flags, command)),
    );
}

function revokeCommand(): Command {
  return new Command('revoke')
    .description('end a grant now (--reason is required and recorded)')
    .argument('<id>', 'grant id (from grant list)')
    .action((id: string, _flags: unknown, command: Command) =>
      runCommand(async () => (await import('./grant-run.js')).runGrantRevoke(id, command)),
    );
}

export interface GrantFlags {
  identity?: string;
  listener?: string;
  for?: string;
  reason?: string;
  operations?: string;
}

export function grantCommand(): Command {
  return new Command('grant')
    .description('time-boxed access for an identity on a listener (policy grant: required)')
    .option('--identity <name>', 'the identity granted access')
    .option('--listener <name>', 'the listener it applies to')
    .option('--for <duration>', 'how long, e.g. 30m, 2h')
    .option('--reason <text>', 'why (recorded), e.g. a ticket')
    .option('--operations <list>', `only these operation classes: ${GRANT_OPERATIONS.join(',')}`)
    .option(
      '--api <url>',
      "use this gateway's API (e.g. http://127.0.0.1:8080) instead of the data dir",
    )
    .option('--token-file <file>', 'with --api: a file holding an admin API token')
    .addHelpText(
      'after',
      `
Examples:
  portwarden grant --identity alice --listener orders-db --for 2h --reason "INC-1234"
  portwarden grant --identity alice --listener orders-db --for 30m --reason "INC-9" --operations read
  portwarden grant list
  portwarden grant revoke 0192f3a4-... --reason "done"

Through the API (the record names the admin token instead of the OS user):
  portwarden grant --identity alice --listener orders-db --for 2h --reason "INC-1234" \\
    --api https://gw.example:8080 --token-file ~/.config/portwarden/admin-token
  portwarden grant list --api https://gw.example:8080 --token-file ~/.config/portwarden/admin-token
  portwarden grant revoke 0192f3a4-... --reason "done" --api https://gw.example:8080 --token-file ./admin-token
`,
    )
    .addCommand(listCommand())
    .addCommand(revokeCommand())
    .action((flags: GrantFlags, command: Command) =>
      runCommand(async () => (await import('./grant-run.js')).runGrant(flags, command)),
    );
}
