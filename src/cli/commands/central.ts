/**
 * `portwarden central search|who|verify|nodes` — read the central PostgreSQL store that
 * `portwarden collect` fills (records of every node). Separate from `search`/`who`/`verify`,
 * which read the node's embedded store.
 */
import { Command, Option } from 'commander';
import { formatTimestampNs } from '../../audit/clock.js';
import {
  CENTRAL_GROUP_KEYS,
  CentralReader,
  CentralStore,
  decodeCursor,
  encodeCursor,
  verifyCentralNode,
  type CentralFilter,
  type CentralGroupKey,
  type CentralRow,
} from '../../ship/index.js';
import { addFilterOptions, parseEndpoint, toFilter, type FilterFlags } from '../filter-options.js';
import { runCommand, usage } from '../io.js';
import { parseTimeArg } from '../time.js';
import { serveCommand } from './central-serve.js';
import { collectKeys } from './collect.js';

interface CentralSearchFlags extends FilterFlags {
  readonly store: string;
  readonly module?: string;
  readonly all?: boolean;
  readonly count?: boolean;
  readonly groupBy?: CentralGroupKey;
  readonly format: 'table' | 'ndjson';
}

export const storeOption = (): Option =>
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

/** The central filter of the flags: the shared filter model plus --module and a cursor. */
export function centralFilter(f: CentralSearchFlags): CentralFilter {
  const { after, ...rest } = f;
  const base = toFilter(rest);
  let cursor: string | undefined;
  if (after !== undefined) {
    try {
      cursor = encodeCursor(decodeCursor(after));
    } catch {
      throw usage(`--after expects the cursor printed as "next:" (TIME:NODE:SEQ), got "${after}"`);
    }
  }
  const { after: _a, ...filter } = base;
  return {
    ...filter,
    ...(f.module !== undefined ? { module: f.module } : {}),
    ...(cursor !== undefined ? { after: cursor } : {}),
  };
}

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
    .addOption(
      new Option('--group-by <key>', 'count per key').choices(Object.keys(CENTRAL_GROUP_KEYS)),
    )
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
      runCommand(async () => {
        const filter = centralFilter(f);
        const store = await CentralStore.open(f.store, { max: 1 });
        try {
          if (f.count) {
            process.stdout.write(`${await store.count(filter)}\n`);
            return 0;
          }
          if (f.groupBy !== undefined) {
            const groups = await new CentralReader(store).groupBy(filter, f.groupBy, 10_000);
            for (const g of groups) process.stdout.write(`${g.count}\t${g.key}\n`);
            return 0;
          }
          if (f.format === 'table')
            process.stdout.write(
              'NODE\tSEQ\tTIME (UTC)\tACTION\tOUTCOME\tLISTENER\tSOURCE\tUPSTREAM LOCAL\tUSER\tDETAIL\n',
            );
          let page = await store.searchPage(filter);
          for (;;) {
            for (const r of page.rows)
              process.stdout.write(
                f.format === 'ndjson'
                  ? `${r.body ?? JSON.stringify({ node: r.node, sequence: r.sequence, pruned: true })}\n`
                  : tableLine(r),
              );
            if (!f.all || page.next === null) break;
            page = await store.searchPage({ ...filter, after: page.next });
          }
          if (page.next !== null && !f.all) process.stderr.write(`next: --after ${page.next}\n`);
          return 0;
        } finally {
          await store.close();
        }
      }),
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
