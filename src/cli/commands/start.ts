/** `portwarden start` — run the gateway from the config until SIGTERM/SIGINT. */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export function startCommand(): Command {
  return new Command('start')
    .description('run the gateway (listeners, recorder, API) from the config')
    .addHelpText(
      'after',
      `
Examples:
  portwarden start -c /etc/portwarden/portwarden.yaml
  PORTWARDEN_LOG_LEVEL=debug portwarden start

Stops on SIGTERM or SIGINT: stops accepting, drains up to shutdown_timeout, records the rest
with reason "shutdown". Reloads policies on SIGHUP and when the config file changes (a bad
file is rejected and recorded; the previous policies stay): see docs/policy.md.
`,
    )
    .action((_flags: unknown, command: Command) =>
      runCommand(async () => (await import('./start-run.js')).runStart(command)),
    );
}
