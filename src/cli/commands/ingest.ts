/** `portwarden ingest k8s-audit|auditd|conntrack FILE|-` — external logs into the local log. */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Argument, Command } from 'commander';
import { NODE_KEY_FILE } from '../../audit/integrity.js';
import { loadConfig } from '../../config/index.js';
import { INGEST_FORMATS, type IngestFormat, ingestLines } from '../../ingest/index.js';
import { dataDirFromOptions, globalOptions, runCommand } from '../io.js';
import { openLocalLog } from '../local-log.js';

/** The node name: --node, else the config's, else the one the data dir's key was made for. */
function nodeName(command: Command, dataDir: string, flag: string | undefined): string {
  if (flag !== undefined) return flag;
  const g = globalOptions(command);
  const file = g.config ?? 'portwarden.yaml';
  if (g.config !== undefined || existsSync(file)) return loadConfig(file).config.node;
  const keyFile = join(dataDir, NODE_KEY_FILE);
  if (existsSync(keyFile))
    return readFileSync(keyFile, 'utf8').trim().split('+')[2] ?? 'portwarden';
  return 'portwarden';
}

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
      runCommand(async () => {
        const dataDir = dataDirFromOptions(command);
        const log = openLocalLog(dataDir, nodeName(command, dataDir, flags.node), {
          whenGatewayRuns:
            'configure a "sources:" entry so the gateway tails the file itself, or stop it first',
        });
        const input = file === '-' ? process.stdin : createReadStream(file);
        const lines = createInterface({ input, crlfDelay: Infinity });
        let report;
        try {
          report = await ingestLines(format, lines, log.recorder);
        } finally {
          log.close();
        }
        process.stdout.write(
          `ingested ${report.ingested} events from ${report.lines} lines; ${report.malformed} malformed; ${report.skipped} skipped (not network events)\n`,
        );
        for (const e of report.errors) process.stderr.write(`line ${e.line}: ${e.reason}\n`);
        if (report.malformed > report.errors.length)
          process.stderr.write(
            `… and ${report.malformed - report.errors.length} more malformed lines\n`,
          );
        return 0;
      }),
    );
}
