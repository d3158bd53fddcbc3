/**
 * `portwarden policy check|test|export|history` (DESIGN §9): validate the policies of a
 * config, dry-run one decision or replay recorded traffic against a candidate, emit nftables
 * rules or Kubernetes NetworkPolicy objects, list the recorded policy versions.
 * Exit codes: 0 ok, 1 policy errors found (check), 2 usage or runtime error.
 */
import net from 'node:net';
import { Command, Option } from 'commander';
import {
  loadConfig,
  parseHostPort,
  type ConfigIssue,
  type LoadedConfig,
} from '../../config/index.js';
import { PortwardenError, errorMessage } from '../../errors.js';
import {
  AUDIT_ONLY,
  compilePolicies,
  exportK8s,
  exportNftables,
  type ActionFacts,
  type CompiledPolicy,
  type ConnectionFacts,
  type Decision,
  type PolicyDecider,
} from '../../policy/index.js';
import { classifySql, initPostgresClassifier } from '../../protocols/postgres/index.js';
import { commandKeys, resolveCommand } from '../../protocols/redis/index.js';
import {
  policyHistory,
  policyReplay,
  type HistoryOptions,
  type ReplayOptions,
} from './policy-records.js';

/** Where the command writes; tests pass their own. */
export interface PolicyCliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STD_IO: PolicyCliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Policy problems of a loaded config, with paths from the config root (for loadConfig). */
export function policyConfigIssues(policies: unknown): ConfigIssue[] {
  const result = compilePolicies(policies);
  return result.ok
    ? []
    : result.issues.map((i) => ({ path: ['policies', ...i.path], message: i.message }));
}

/** The `policy` command with its subcommands. */
export function policyCommand(io: PolicyCliIo = STD_IO): Command {
  const policy = new Command('policy').description('validate, dry-run and export access policies');

  policy
    .command('check')
    .description('validate the policies of a config file (exit 1 when any is invalid)')
    .option('-c, --config <file>', 'config file (default ./portwarden.yaml)')
    .addHelpText('after', '\nExample:\n  portwarden policy check -c portwarden.yaml\n')
    .action((_opts: unknown, cmd: Command) =>
      run(io, () => {
        const loaded = load(cmd, true);
        const compiled = compileOrThrow(loaded);
        for (const [name, p] of compiled) {
          io.out(`${name}\t${p.version}\t${p.rules.length} rules\tdefault ${p.defaultVerdict}\n`);
        }
        for (const l of loaded.config.listeners) {
          if (l.policy === undefined)
            io.err(`warning: listener ${l.name} has no policy (audit-only)\n`);
        }
        io.out(`ok: ${compiled.size} ${compiled.size === 1 ? 'policy' : 'policies'} valid\n`);
        return 0;
      }),
    );

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
    .action((opts: TestOptions, cmd: Command) =>
      run(io, () =>
        opts.replay === true ? policyReplay(io, cmd, opts) : testDecision(io, cmd, opts),
      ),
    );

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
    .action((opts: HistoryOptions, cmd: Command) => run(io, () => policyHistory(io, cmd, opts)));

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
    .action((opts: ExportOptions, cmd: Command) =>
      run(io, () => {
        const loaded = load(cmd, false);
        const compiled = compileOrThrow(loaded);
        const { listeners, api } = loaded.config;
        if (opts.format === 'nftables') {
          io.out(
            exportNftables(listeners, compiled, { gatewayAddresses: opts.gatewayAddress ?? [] }),
          );
        } else {
          io.out(
            exportK8s(listeners, compiled, {
              ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
              gatewaySelector: labels(opts.gatewaySelector),
              gatewayIngress: opts.gatewayIngress === true,
              gatewayExtraPorts: api.enabled ? [api.listen.port] : [],
            }),
          );
        }
        return 0;
      }),
    );
  return policy;
}

interface TestOptions extends Omit<ReplayOptions, 'format'> {
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

interface ExportOptions {
  format: 'nftables' | 'k8s';
  gatewayAddress?: string[];
  namespace?: string;
  gatewaySelector: string[];
  gatewayIngress?: boolean;
}

async function testDecision(io: PolicyCliIo, cmd: Command, opts: TestOptions): Promise<number> {
  const loaded = load(cmd, false);
  const compiled = compileOrThrow(loaded);
  if (opts.listener === undefined || opts.source === undefined)
    throw usage('--listener and --source are required (or use --replay)');
  const listener = loaded.config.listeners.find((l) => l.name === opts.listener);
  if (listener === undefined) throw usage(`no listener named "${opts.listener}"`);
  const decider: PolicyDecider =
    listener.policy === undefined ? AUDIT_ONLY : (compiled.get(listener.policy) as CompiledPolicy);
  const at = opts.at === undefined ? new Date() : new Date(opts.at);
  if (Number.isNaN(at.getTime())) throw usage(`--at: expected an RFC 3339 time, got "${opts.at}"`);
  const conn: ConnectionFacts = {
    listener: listener.name,
    ...source(opts.source),
    ...(opts.user === undefined ? {} : { user: opts.user }),
    ...(opts.db === undefined ? {} : { database: opts.db }),
    ...(opts.app === undefined ? {} : { application: opts.app }),
    ...(opts.tlsSubject === undefined ? {} : { tlsSubject: opts.tlsSubject }),
    ...(opts.group === undefined ? {} : { groups: opts.group }),
  };
  const print = (stage: string, d: Decision, subject?: string): void => {
    if (opts.format === 'ndjson') {
      io.out(
        `${JSON.stringify({ stage, ...(subject === undefined ? {} : { subject }), policy: listener.policy ?? null, ...d })}\n`,
      );
      return;
    }
    const rule = d.ruleId === undefined ? '-' : d.ruleId;
    io.out(
      `${stage.padEnd(10)} ${d.verdict.padEnd(5)} rule=${rule}  ${d.reason}${subject === undefined ? '' : `  [${subject}]`}\n`,
    );
  };
  print('connection', decider.decideConnection(conn, at));
  for (const [subject, action] of await actions(opts, listener.protocol)) {
    print('action', decider.decideAction(conn, action, at), subject);
  }
  if (opts.format === 'table') {
    const version =
      listener.policy === undefined ? '' : ` ${compiled.get(listener.policy)?.version ?? ''}`;
    io.out(`policy: ${listener.policy ?? '(none: audit-only)'}${version}\n`);
  }
  return 0;
}

/** The requests named on the command line, as the sessions would describe them. */
async function actions(opts: TestOptions, protocol: string): Promise<[string, ActionFacts][]> {
  if (opts.query !== undefined) {
    // MySQL texts go through PostgreSQL's parser too; what it refuses is `unknown`.
    await initPostgresClassifier();
    const sqlProtocol = protocol === 'mysql' ? 'mysql' : 'postgres';
    return classifySql(opts.query).map((s) => [
      `${s.sqlClass} ${s.operation}${s.tables.length > 0 ? ` ${s.tables.join(',')}` : ''}`,
      {
        protocol: sqlProtocol,
        sqlClass: s.sqlClass,
        operation: s.operation,
        tables: s.tables,
        text: s.text,
      },
    ]);
  }
  if (opts.redis !== undefined) {
    const args = opts.redis
      .trim()
      .split(/\s+/)
      .filter((a) => a !== '')
      .map((a) => Buffer.from(a));
    if (args.length === 0) throw usage('--redis: expected a command');
    const resolved = resolveCommand(args, args.length);
    const keys = commandKeys(resolved, args, args.length);
    return [
      [
        resolved.name,
        {
          protocol: 'redis',
          command: resolved.name,
          categories: resolved.categories,
          keys: keys.keys.map((k) => k.toString('utf8')),
          keysComplete: keys.complete,
        },
      ],
    ];
  }
  if (opts.http !== undefined) {
    const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(opts.http);
    if (m === null) throw usage(`--http: expected "METHOD /path", got "${opts.http}"`);
    const method = m[1] ?? '';
    const path = m[2] ?? '';
    return [[`${method} ${path}`, { protocol: 'http', method, path }]];
  }
  return [];
}

function source(text: string): { sourceIp: string; sourcePort: number } {
  if (net.isIP(text) !== 0) return { sourceIp: text, sourcePort: 0 };
  const hp = parseHostPort(text);
  if (hp === null || net.isIP(hp.host) === 0) {
    throw usage(`--source: expected an IP or IP:PORT, got "${text}"`);
  }
  return { sourceIp: hp.host, sourcePort: hp.port };
}

function labels(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usage(`--gateway-selector: expected key=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function configFile(cmd: Command): string {
  const opts = cmd.optsWithGlobals<{ config?: string }>();
  return opts.config ?? './portwarden.yaml';
}

/**
 * Load the config with its policies checked. With `reportIssues`, content problems are a
 * finding (CheckFailed, exit 1); read errors stay runtime errors (exit 2).
 */
function load(cmd: Command, reportIssues: boolean): LoadedConfig {
  try {
    return loadConfig(configFile(cmd), (config) => policyConfigIssues(config.policies));
  } catch (err) {
    if (reportIssues && err instanceof PortwardenError && err.code === 'PW_ERR_CONFIG') {
      throw new CheckFailed(err.message);
    }
    throw err;
  }
}

function compileOrThrow(loaded: LoadedConfig): ReadonlyMap<string, CompiledPolicy> {
  const result = compilePolicies(loaded.config.policies);
  if (!result.ok)
    throw new PortwardenError('PW_ERR_POLICY', { detail: 'policies did not compile' });
  return result.policies;
}

/** `policy check` found problems: a finding (exit 1), not a failure to run. */
class CheckFailed extends Error {}

function usage(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_USAGE', { detail });
}

async function run(io: PolicyCliIo, body: () => number | Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (err) {
    if (err instanceof CheckFailed) {
      io.err(`${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    io.err(`portwarden: ${errorMessage(err)}\n`);
    process.exitCode = err instanceof PortwardenError ? err.exitCode : 2;
  }
}
