/**
 * `portwarden central search|who|verify|nodes` — read the central PostgreSQL store that
 * `portwarden collect` fills (records of every node). Separate from `search`/`who`/`verify`,
 * which read the node's embedded store.
 */
import { Command, Option } from 'commander';
import type { CentralGroupKey } from '../../ship/index.js';
import { CENTRAL_GROUP_KEYS } from '../command-defaults.js';
import { addFilterOptions, type FilterFlags } from '../filter-options.js';
import { runCommand } from '../io.js';
import { serveCommand } from './central-serve.js';

export interface CentralSearchFlags extends FilterFlags {
  readonly store: string;
  readonly module?: string;
  readonly all?: boolean;
  readonly count?: boolean;
  readonly groupBy?: CentralGroupKey;
  readonly format: 'table' | 'ndjson';
}

export interface CentralVerifyFlags {
  readonly store: string;
  readonly node: string;
  readonly key?: string[];
  readonly keysFile?: string;
  readonly json?: boolean;
}

export const storeOption = (): Option =>
  new Option('--store <url>', 'central store: postgres://user@host/db')
    .env('PORTWARDEN_CENTRAL_STORE')
    .makeOptionMandatory();

function searchCommand(): Command {
  const cmd = new Command('search').description(
    'records of every node, in the central order (time, node, sequence), newest first',
  );
  cmd.addOption(storeOption());
  addFilterOptions(cmd)
    .option('--module <m>', 'event.module (kubernetes, auditd, conntrack)')
    .option('--limit <n>', 'at most this many records per page (default 100, max 10000)')
    .addOption(
      new Option('--order <order>', 'newest (default) or oldest first').choices([
        'newest',
        'oldest',
      ]),
    )
    .option('--after <cursor>', 'keyset cursor: continue after it (printed as "next:")')
    .option('--all', 'every matching record, page after page')
    .option('--count', 'print only the number of matching records')
    .addOption(new Option('--group-by <key>', 'count per key').choices([...CENTRAL_GROUP_KEYS]))
    .addOption(new Option('--format <f>', 'output').choices(['table', 'ndjson']).default('table'))
    .addHelpText(
      'after',
      `
The cursor names the last record of a page as TIME_NS:NODE:SEQ; "next: --after …" is
printed on stderr while more records match.

Examples:
  portwarden central search --store postgres://pw@db/central --node gw-2 --since 1h
  portwarden central search --text "delete from orders" --order oldest --limit 50
  portwarden central search --after 1732330800123456789:gw-2:17 --limit 50
  portwarden central search --since 1d --group-by node
`,
    )
    .action((f: CentralSearchFlags) =>
      runCommand(async () => (await import('./central-run.js')).runCentralSearch(f)),
    );
  return cmd;
}

function whoCommand(): Command {
  return new Command('who')
    .description('which connection (on any node) held IP:PORT at a time')
    .argument('<endpoint>', 'IP:PORT seen by a target (client port or the gateway upstream port)')
    .addOption(storeOption())
    .option('--at <time>', 'RFC 3339 or relative (default now)')
    .action((text: string, f: { store: string; at?: string }) =>
      runCommand(async () => (await import('./central-run.js')).runCentralWho(text, f)),
    );
}

function verifyCommand(): Command {
  return new Command('verify')
    .description("recompute one node's chain from the central store and check its checkpoints")
    .addOption(storeOption())
    .requiredOption('--node <name>', 'the node to verify')
    .option('--key <verifier...>', "the node's verifier key(s)")
    .option('--keys-file <file>', 'verifier keys, one per line')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExit codes: 0 intact, 1 tampered, 2 error.\n')
    .action((f: CentralVerifyFlags) =>
      runCommand(async () => (await import('./central-run.js')).runCentralVerify(f)),
    );
}

function nodesCommand(): Command {
  return new Command('nodes')
    .description('every node the collector has seen: records, pending, quarantined, findings')
    .addOption(storeOption())
    .action((f: { store: string }) =>
      runCommand(async () => (await import('./central-run.js')).runCentralNodes(f)),
    );
}

export function centralCommand(): Command {
  return new Command('central')
    .description('search, who, verify and the API/dashboard across nodes in the central store')
    .addCommand(searchCommand())
    .addCommand(whoCommand())
    .addCommand(verifyCommand())
    .addCommand(nodesCommand())
    .addCommand(serveCommand())
    .addHelpText(
      'after',
      `
Examples:
  portwarden central search --store postgres://pw@db/central --node gw-2 --since 1h
  portwarden central who 10.1.5.5:40522 --store postgres://pw@db/central --at 2026-11-23T03:00:00Z
  portwarden central verify --store postgres://pw@db/central --node gw-2 --key 'gw-2+1a2b3c4d+Af…'
  portwarden central nodes --store postgres://pw@db/central
  portwarden central serve --store postgres://pw@db/central --listen 127.0.0.1:8443
`,
    );
}
