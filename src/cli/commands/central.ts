/**
 * `portwarden central search|who|verify|nodes` — read the central PostgreSQL store that
 * `portwarden collect` fills (records of every node). Separate from `search`/`who`/`verify`,
 * which read the node's embedded store.
 */
import { Command, Option } from 'commander';
import { formatTimestampNs } from '../../audit/clock.js';
import { CentralStore, verifyCentralNode, type CentralRow } from '../../ship/index.js';
import { parseEndpoint } from '../filter-options.js';
import { runCommand, usage } from '../io.js';
import { parseTimeArg } from '../time.js';
import { collectKeys } from './collect.js';

interface CentralSearchFlags {
  readonly store: string;
  readonly node?: string;
  readonly listener?: string;
  readonly action?: string[];
  readonly source?: string;
  readonly port?: string;
  readonly user?: string;
  readonly outcome?: string;
  readonly module?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly order: 'newest' | 'oldest';
  readonly format: 'table' | 'ndjson';
}

const storeOption = (): Option =>
  new Option('--store <url>', 'central store: postgres://user@host/db')
    .env('PORTWARDEN_CENTRAL_STORE')
    .makeOptionMandatory();

function endpoint(ip: string | null, port: number | null): string {
  if (ip === null) return '-';
  return ip.includes(':') ? `[${ip}]:${port ?? ''}` : `${ip}:${port ?? ''}`;
}

function tableLine(r: CentralRow): string {
  return (
    [
      r.node,
      String(r.sequence),
      formatTimestampNs(r.timestampNs),
      r.action ?? '-',
      r.outcome ?? '-',
      r.listener ?? '-',
      endpoint(r.sourceIp, r.sourcePort),
      endpoint(r.upstreamLocalIp, r.upstreamLocalPort),
      r.user ?? '-',
      (r.text ?? '').replace(/\s+/g, ' ').slice(0, 60),
    ].join('\t') + '\n'
  );
}

function searchCommand(): Command {
  return new Command('search')
    .description('records of every node (newest first)')
    .addOption(storeOption())
    .option('--node <name>', 'only this node')
    .option('--listener <name>', 'only this listener')
    .option('--action <action...>', 'only these actions')
    .option('--source <ip[:port]>', 'client address (and port)')
    .option('--port <n>', 'any endpoint port of either leg')
    .option('--user <name>', 'who acted')
    .addOption(new Option('--outcome <o>', 'outcome').choices(['success', 'failure', 'unknown']))
    .option('--module <m>', 'event.module (kubernetes, auditd, conntrack)')
    .option('--since <time>', 'RFC 3339 or relative (15m, 7d)')
    .option('--until <time>', 'RFC 3339 or relative')
    .option('--limit <n>', 'at most this many records (default 100, max 10000)')
    .addOption(
      new Option('--order <order>', 'newest or oldest first')
        .choices(['newest', 'oldest'])
        .default('newest'),
    )
    .addOption(new Option('--format <f>', 'output').choices(['table', 'ndjson']).default('table'))
    .action((f: CentralSearchFlags) =>
      runCommand(async () => {
        const src = f.source !== undefined ? parseEndpoint(f.source) : undefined;
        const port = f.port !== undefined ? Number(f.port) : undefined;
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
          throw usage(`--port expects 0-65535, got "${f.port}"`);
        const limit = f.limit !== undefined ? Number(f.limit) : undefined;
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
          throw usage('--limit must be a positive integer');
        const store = await CentralStore.open(f.store, { max: 1 });
        try {
          const rows = await store.search({
            ...(f.node !== undefined ? { node: f.node } : {}),
            ...(f.listener !== undefined ? { listener: f.listener } : {}),
            ...(f.action !== undefined ? { actions: f.action } : {}),
            ...(src ? { sourceIp: src.ip } : {}),
            ...(src?.port !== undefined ? { sourcePort: src.port } : {}),
            ...(port !== undefined ? { port } : {}),
            ...(f.user !== undefined ? { user: f.user } : {}),
            ...(f.outcome !== undefined ? { outcome: f.outcome } : {}),
            ...(f.module !== undefined ? { module: f.module } : {}),
            ...(f.since !== undefined ? { sinceNs: parseTimeArg(f.since) } : {}),
            ...(f.until !== undefined ? { untilNs: parseTimeArg(f.until) } : {}),
            ...(limit !== undefined ? { limit } : {}),
            order: f.order,
          });
          if (f.format === 'ndjson') {
            for (const r of rows)
              process.stdout.write(
                `${r.body ?? JSON.stringify({ node: r.node, sequence: r.sequence, pruned: true })}\n`,
              );
          } else {
            process.stdout.write(
              'NODE\tSEQ\tTIME (UTC)\tACTION\tOUTCOME\tLISTENER\tSOURCE\tUPSTREAM LOCAL\tUSER\tDETAIL\n',
            );
            for (const r of rows) process.stdout.write(tableLine(r));
          }
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}

function whoCommand(): Command {
  return new Command('who')
    .description('which connection (on any node) held IP:PORT at a time')
    .argument('<endpoint>', 'IP:PORT seen by a target (client port or the gateway upstream port)')
    .addOption(storeOption())
    .option('--at <time>', 'RFC 3339 or relative (default now)')
    .action((text: string, f: { store: string; at?: string }) =>
      runCommand(async () => {
        const ep = parseEndpoint(text);
        if (ep.port === undefined) throw usage('who needs IP:PORT');
        const at = f.at !== undefined ? parseTimeArg(f.at) : BigInt(Date.now()) * 1_000_000n;
        const store = await CentralStore.open(f.store, { max: 1 });
        try {
          const hit = await store.connectionAt(ep.ip, ep.port, at);
          if (hit === null) {
            process.stdout.write(`no connection held ${text} at ${formatTimestampNs(at)}\n`);
            return 1;
          }
          const o = hit.open;
          process.stdout.write(
            `node ${o.node}  listener ${o.listener ?? '-'}  connection ${o.connectionId ?? '-'} (${hit.leg} leg)\n` +
              `client ${endpoint(o.sourceIp, o.sourcePort)}  user ${o.user ?? '-'}\n` +
              `upstream local ${endpoint(o.upstreamLocalIp, o.upstreamLocalPort)} -> ${endpoint(o.upstreamIp, o.upstreamPort)}\n` +
              `opened ${formatTimestampNs(o.timestampNs)}  closed ${hit.close ? formatTimestampNs(hit.close.timestampNs) : '(open)'}\n`,
          );
          return 0;
        } finally {
          await store.close();
        }
      }),
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
    .action(
      (f: { store: string; node: string; key?: string[]; keysFile?: string; json?: boolean }) =>
        runCommand(async () => {
          const keys = collectKeys(f.key, f.keysFile).filter((k) => k.split('+')[0] === f.node);
          if (keys.length === 0) throw usage(`no verifier key for node ${f.node} (--key)`);
          const store = await CentralStore.open(f.store, { max: 1 });
          try {
            const result = await verifyCentralNode(store, f.node, keys);
            if (f.json) process.stdout.write(JSON.stringify(result) + '\n');
            else if (result.ok)
              process.stdout.write(
                `ok: node ${f.node}: ${result.size} records and ${result.checkpoints} signed checkpoints verified\n`,
              );
            else
              process.stdout.write(
                `TAMPERED: node ${f.node}: ${result.kind} at sequence ${result.sequence}: ${result.detail}\n`,
              );
            return result.ok ? 0 : 1;
          } finally {
            await store.close();
          }
        }),
    );
}

function nodesCommand(): Command {
  return new Command('nodes')
    .description('every node the collector has seen: records, pending, quarantined, findings')
    .addOption(storeOption())
    .action((f: { store: string }) =>
      runCommand(async () => {
        const store = await CentralStore.open(f.store, { max: 1 });
        try {
          process.stdout.write(
            'NODE\tRECORDS\tCHECKPOINT\tPENDING\tQUARANTINED\tFINDINGS\tSTATE\n',
          );
          let broken = 0;
          for (const n of await store.nodes()) {
            if (n.broken) broken++;
            process.stdout.write(
              `${n.node}\t${n.nextSeq}\t${n.checkpointSize ?? '-'}\t${n.pending}\t${n.quarantined}\t${n.findings}\t${n.broken ? 'BROKEN' : 'ok'}\n`,
            );
          }
          for (const x of await store.findings())
            process.stdout.write(
              `finding: ${x.node} ${x.kind} at ${x.sequence ?? '-'}: ${x.detail}\n`,
            );
          return broken > 0 ? 1 : 0;
        } finally {
          await store.close();
        }
      }),
    );
}

export function centralCommand(): Command {
  return new Command('central')
    .description('search, who and verify across nodes in the central PostgreSQL store')
    .addCommand(searchCommand())
    .addCommand(whoCommand())
    .addCommand(verifyCommand())
    .addCommand(nodesCommand())
    .addHelpText(
      'after',
      `
Examples:
  portwarden central search --store postgres://pw@db/central --node gw-2 --since 1h
  portwarden central who 10.1.5.5:40522 --store postgres://pw@db/central --at 2026-11-23T03:00:00Z
  portwarden central verify --store postgres://pw@db/central --node gw-2 --key 'gw-2+1a2b3c4d+Af…'
  portwarden central nodes --store postgres://pw@db/central
`,
    );
}
