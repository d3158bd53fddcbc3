/** `portwarden ingest` when it runs (ingest.ts defines the command; this opens the log). */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { NODE_KEY_FILE } from '../../audit/integrity.js';
import { type IngestFormat, ingestLines } from '../../ingest/index.js';
import { dataDirFromOptions, readConfig } from '../data-dir.js';
import { globalOptions } from '../io.js';
import { openLocalLog } from '../local-log.js';

/** The node name: --node, else the config's, else the one the data dir's key was made for. */
async function nodeName(
  command: Command,
  dataDir: string,
  flag: string | undefined,
): Promise<string> {
  if (flag !== undefined) return flag;
  const g = globalOptions(command);
  const file = g.config ?? 'portwarden.yaml';
  if (g.config !== undefined || existsSync(file)) return (await readConfig(file)).config.node;
  const keyFile = join(dataDir, NODE_KEY_FILE);
  if (existsSync(keyFile))
    return readFileSync(keyFile, 'utf8').trim().split('+')[2] ?? 'portwarden';
  return 'portwarden';
}

export async function runIngest(
  format: IngestFormat,
  file: string,
  flags: { readonly node?: string },
  command: Command,
): Promise<number> {
  const dataDir = await dataDirFromOptions(command);
  const log = openLocalLog(dataDir, await nodeName(command, dataDir, flags.node), {
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
    process.stderr.write(`… and ${report.malformed - report.errors.length} more malformed lines\n`);
  return 0;
}
