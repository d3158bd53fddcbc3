/** `portwarden ingest k8s-audit|auditd|conntrack FILE|-` — external logs into the local log. */
import { Argument, Command } from 'commander';
import type { IngestFormat } from '../../ingest/index.js';
import { INGEST_FORMATS } from '../command-defaults.js';
import { runCommand } from '../io.js';

export function ingestCommand(): Command {
  return new Command('ingest')
    .description('append Kubernetes audit, auditd or conntrack events to the local audit log')
    .addArgument(new Argument('<format>', 'log format').choices([...INGEST_FORMATS]))
    .argument('<file>', 'the log file, or - for standard input')
    .option('--node <name>', "node name (default: the config's, or the data dir key's)")
    .addHelpText(
      'after',
      `
Refuses while a gateway writes the same data dir (use a "sources:" entry in the config so
the gateway tails the file itself). Malformed lines are counted and reported on stderr.

Examples:
  portwarden ingest k8s-audit /var/log/kubernetes/audit.log
  ausearch -m SYSCALL,SOCKADDR --raw | portwarden ingest auditd -
  conntrack -E -o timestamp,extended | portwarden ingest conntrack -
`,
    )
    .action((format: IngestFormat, file: string, flags: { node?: string }, command: Command) =>
      runCommand(async () =>
        (await import('./ingest-run.js')).runIngest(format, file, flags, command),
      ),
    );
}
