/**
 * `portwarden demo` (what `npm start` runs) — a working gateway with no external service:
 * a small internal HTTP service behind an `http` listener, plus the local PostgreSQL,
 * MariaDB and Redis behind their protocol listeners when they are up. Prints what to try.
 */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export interface DemoFlags {
  readonly dir: string;
  readonly basePort: string;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run a self-contained demo gateway (what `npm start` runs)')
    .option('--dir <dir>', 'where the demo config and data go', 'portwarden-demo')
    .option('--base-port <n>', 'first listener port', '18080')
    .addHelpText(
      'after',
      '\nExamples:\n  npm start\n  portwarden demo --dir /tmp/pw --base-port 28080\n',
    )
    .action((flags: DemoFlags) =>
      runCommand(async () => (await import('./demo-run.js')).runDemo(flags)),
    );
}
