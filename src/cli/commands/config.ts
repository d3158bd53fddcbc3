/** `portwarden config check` — validate a config file without starting anything. */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export function configCommand(): Command {
  const config = new Command('config').description('work with the configuration file');
  config
    .command('check')
    .description('validate the config (file, line, key path and what was expected on error)')
    .addHelpText(
      'after',
      '\nExamples:\n  portwarden config check -c portwarden.yaml\n  portwarden config check -c examples/databases.yaml\n',
    )
    .action((_flags: unknown, command: Command) =>
      runCommand(async () => {
        // Loaded now, not at start-up: the config schema pulls in most of the product.
        const { loadFromOptions } = await import('../data-dir.js');
        const loaded = await loadFromOptions(command);
        const c = loaded.config;
        const withoutPolicy = c.listeners.filter((l) => l.policy === undefined).map((l) => l.name);
        process.stdout.write(
          `${loaded.file}: ok — ${c.listeners.length} listener(s), ${Object.keys(c.policies).length} polic(ies)\n`,
        );
        if (withoutPolicy.length > 0)
          process.stdout.write(`warning: audit-only (no policy): ${withoutPolicy.join(', ')}\n`);
        return 0;
      }),
    );
  return config;
}
