/**
 * `portwarden policy check|test|export|history` (DESIGN §9): validate the policies of a
 * config, dry-run one decision or replay recorded traffic against a candidate, emit nftables
 * rules or Kubernetes NetworkPolicy objects, list the recorded policy versions.
 * Exit codes: 0 ok, 1 policy errors found (check), 2 usage or runtime error.
 */
import { Command, Option } from 'commander';
import { PortwardenError, errorMessage } from '../../errors.js';
import type * as PolicyRunModule from './policy-run.js';
import type { HistoryOptions, ReplayOptions } from './policy-records.js';

type PolicyRun = typeof PolicyRunModule;

/** Where the command writes; tests pass their own. */
export interface PolicyCliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STD_IO: PolicyCliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** The `policy` command with its subcommands. */
export function policyCommand(io: PolicyCliIo = STD_IO): Command {
  const policy = new Command('policy').description('validate, dry-run and export access policies');

  policy
    .command('check')
    .description('validate the policies of a config file (exit 1 when any is invalid)')
    .option('-c, --config <file>', 'config file (default ./portwarden.yaml)')
    .addHelpText('after', '\nExample:\n  portwarden policy check -c portwarden.yaml\n')
    .action((_opts: unknown, cmd: Command) => run(io, (r) => r.policyCheck(io, cmd)));

  policy
    .command('test')
    .description(
      'dry-run the decision for one connection and, optionally, one request; or --replay recorded traffic against a candidate policy',
    )
    .option('-c, --config <file>', 'config file (default ./portwarden.yaml)')
    .option('--listener <name>', 'listener whose policy decides (with --replay: only this one)')
    .option('--source <ip[:port]>', 'client address, e.g. 10.1.2.3 or [2001:db8::1]:5000')
    .option('--user <name>', 'protocol user')
    .option('--db <name>', 'database')
    .option('--app <name>', 'application name')
    .option('--tls-subject <dn>', 'client certificate subject')
    .option('--group <name...>', 'identity groups (grant:<listener> stands for a grant)')
    .option('--at <time>', 'RFC 3339 time of the decision (default now)')
    .addOption(
      new Option('--query <sql>', 'an SQL text (each statement decided)').conflicts([
        'redis',
        'http',
      ]),
    )
    .addOption(
      new Option('--redis <command>', 'a Redis command line, e.g. "CONFIG SET x y"').conflicts(
        'http',
      ),
    )
    .option('--http <request>', 'an HTTP request line, e.g. "GET /api/orders"')
    .option('--replay', 'decide recorded traffic again with --policy and report the differences')
    .option('--policy <file>', 'with --replay: candidate config or policies file')
    .option('--since <time>', 'with --replay: from (RFC 3339 or 15m, 7d)', '7d')
    .option('--until <time>', 'with --replay: until')
    .option('--examples <n>', 'with --replay: examples shown per direction', '5')
    .option('--data-dir <dir>', "with --replay: data directory (default: the config's data_dir)")
    .addOption(
      new Option('--format <format>', 'output').choices(['table', 'ndjson']).default('table'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  portwarden policy test --listener orders-db --source 10.1.2.3 --user app --db orders --query "DROP TABLE t"\n' +
        '  portwarden policy test --listener cache --source 10.1.2.3 --redis "FLUSHALL"\n' +
        '  portwarden policy test --replay --since 7d --policy new.yaml\n',
    )
    .action((opts: TestOptions, cmd: Command) => run(io, (r) => r.policyTest(io, cmd, opts)));

  policy
    .command('history')
    .description('list policy versions from the record: time, trigger, what changed')
    .option('-c, --config <file>', 'config file (finds the data dir; default ./portwarden.yaml)')
    .option('--data-dir <dir>', "data directory (default: the config's data_dir)")
    .option('--since <time>', 'from (RFC 3339 or 15m, 7d)')
    .option('--policy <name>', 'only changes to this policy')
    .option('--show <version>', 'print the recorded text of a version (sha256:… or a prefix)')
    .addOption(
      new Option('--format <format>', 'output').choices(['table', 'ndjson']).default('table'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  portwarden policy history --since 30d\n  portwarden policy history --show sha256:3c4d\n',
    )
    .action((opts: HistoryOptions, cmd: Command) => run(io, (r) => r.policyHistory(io, cmd, opts)));

  policy
    .command('export')
    .description('emit firewall rules that fence the listeners and targets')
    .option('-c, --config <file>', 'config file (default ./portwarden.yaml)')
    .addOption(
      new Option('--format <format>', 'output').choices(['nftables', 'k8s']).makeOptionMandatory(),
    )
    .option('--gateway-address <ip...>', 'nftables: addresses the gateway reaches targets from')
    .option('--namespace <ns>', 'k8s: namespace of the NetworkPolicy objects')
    .option('--gateway-selector <key=value...>', 'k8s: labels of the gateway pods', [
      'app.kubernetes.io/name=portwarden',
    ])
    .option('--gateway-ingress', 'k8s: also fence the gateway pods (lists their API port too)')
    .addHelpText(
      'after',
      '\nExamples:\n  portwarden policy export --format nftables --gateway-address 10.1.2.9 > portwarden.nft\n',
    )
    .action((opts: ExportOptions, cmd: Command) => run(io, (r) => r.policyExport(io, cmd, opts)));
  return policy;
}

export interface TestOptions extends Omit<ReplayOptions, 'format'> {
  listener?: string;
  source?: string;
  replay?: boolean;
  user?: string;
  db?: string;
  app?: string;
  tlsSubject?: string;
  group?: string[];
  at?: string;
  query?: string;
  redis?: string;
  http?: string;
  format: 'table' | 'ndjson';
}

export interface ExportOptions {
  format: 'nftables' | 'k8s';
  gatewayAddress?: string[];
  namespace?: string;
  gatewaySelector: string[];
  gatewayIngress?: boolean;
}

/**
 * Runs an action of policy-run.ts, loaded only now: it needs the config, the policy compiler
 * and the protocol parsers. `policy check` findings exit 1, errors print plainly.
 */
async function run(
  io: PolicyCliIo,
  body: (r: PolicyRun) => number | Promise<number>,
): Promise<void> {
  let r: PolicyRun | undefined;
  try {
    r = await import('./policy-run.js');
    process.exitCode = await body(r);
  } catch (err) {
    if (r !== undefined && err instanceof r.CheckFailed) {
      io.err(`${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    io.err(`portwarden: ${errorMessage(err)}\n`);
    process.exitCode = err instanceof PortwardenError ? err.exitCode : 2;
  }
}
