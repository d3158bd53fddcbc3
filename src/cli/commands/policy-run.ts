/**
 * `portwarden policy check|test|export` when they run (policy.ts defines the commands; this
 * loads the config, the policy compiler and the protocol parsers). `history` and
 * `test --replay` are in policy-records.ts.
 */
import net from 'node:net';
import type { Command } from 'commander';
import {
  loadConfig,
  parseHostPort,
  type ConfigIssue,
  type LoadedConfig,
} from '../../config/index.js';
import { PortwardenError } from '../../errors.js';
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
import type { ExportOptions, PolicyCliIo, TestOptions } from './policy.js';
import { policyReplay } from './policy-records.js';

export { policyHistory } from './policy-records.js';

/** Policy problems of a loaded config, with paths from the config root (for loadConfig). */
export function policyConfigIssues(policies: unknown): ConfigIssue[] {
  const result = compilePolicies(policies);
  return result.ok
    ? []
    : result.issues.map((i) => ({ path: ['policies', ...i.path], message: i.message }));
}

/** `policy check`. */
export function policyCheck(io: PolicyCliIo, cmd: Command): number {
  const loaded = load(cmd, true);
  const compiled = compileOrThrow(loaded);
  for (const [name, p] of compiled) {
    io.out(`${name}\t${p.version}\t${p.rules.length} rules\tdefault ${p.defaultVerdict}\n`);
  }
  for (const l of loaded.config.listeners) {
    if (l.policy === undefined) io.err(`warning: listener ${l.name} has no policy (audit-only)\n`);
  }
  io.out(`ok: ${compiled.size} ${compiled.size === 1 ? 'policy' : 'policies'} valid\n`);
  return 0;
}

/** `policy test`: one decision, or with --replay the recorded traffic. */
export function policyTest(
  io: PolicyCliIo,
  cmd: Command,
  opts: TestOptions,
): Promise<number> | number {
  return opts.replay === true ? policyReplay(io, cmd, opts) : testDecision(io, cmd, opts);
}

/** `policy export`. */
export function policyExport(io: PolicyCliIo, cmd: Command, opts: ExportOptions): number {
  const loaded = load(cmd, false);
  const compiled = compileOrThrow(loaded);
  const { listeners, api } = loaded.config;
  if (opts.format === 'nftables') {
    io.out(exportNftables(listeners, compiled, { gatewayAddresses: opts.gatewayAddress ?? [] }));
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
export class CheckFailed extends Error {}

function usage(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_USAGE', { detail });
}
