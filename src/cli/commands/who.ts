/**
 * `portwarden who IP:PORT [--at TIME]` — which connection held that endpoint, on its client
 * leg (source) or its upstream leg (the gateway's own source port the target saw), then.
 */
import { Command } from 'commander';
import { formatTimestampNs } from '../../audit/clock.js';
import type { EventRow, Store } from '../../store/index.js';
import { parseEndpoint } from '../filter-options.js';
import { dataDirFromOptions, openStoreForReading, runCommand, usage } from '../io.js';
import { parseTimeArg } from '../time.js';

export interface WhoAnswer {
  readonly leg: 'client' | 'upstream';
  readonly open: EventRow;
  readonly close: EventRow | null;
}

/** Find the connection that used `ip:port` at `atNs` on either leg. */
export function who(store: Store, ip: string, port: number, atNs: bigint): WhoAnswer | null {
  const candidates: { leg: 'client' | 'upstream'; row: EventRow }[] = [];
  const client = store.search({
    actions: ['connection-open'],
    sourceIp: ip,
    sourcePort: port,
    untilNs: atNs + 1n,
    order: 'newest',
    limit: 1,
  });
  const upstream = store.search({
    actions: ['connection-open'],
    upstreamLocalIp: ip,
    upstreamLocalPort: port,
    untilNs: atNs + 1n,
    order: 'newest',
    limit: 1,
  });
  if (client.rows[0]) candidates.push({ leg: 'client', row: client.rows[0] });
  if (upstream.rows[0]) candidates.push({ leg: 'upstream', row: upstream.rows[0] });
  candidates.sort((a, b) => (a.row.timestampNs > b.row.timestampNs ? -1 : 1));
  for (const c of candidates) {
    if (!c.row.connectionId) continue;
    const close =
      store.search({ actions: ['connection-close'], connectionId: c.row.connectionId, limit: 1 })
        .rows[0] ?? null;
    if (close === null || close.timestampNs >= atNs) return { leg: c.leg, open: c.row, close };
  }
  return null;
}

export function whoCommand(): Command {
  return new Command('who')
    .description('which connection held an endpoint (either leg) at a moment')
    .argument('<endpoint>', 'IP:PORT (IPv6 as [::1]:5432)')
    .option('--at <time>', 'RFC 3339 or relative (default now)')
    .option('--format <format>', 'table or ndjson', 'table')
    .addHelpText(
      'after',
      `
Examples:
  portwarden who 10.0.0.5:51234 --at 2026-11-23T03:00:00Z
  portwarden who 127.0.0.1:40522 --at 5m      # a client_port from pg_stat_activity
`,
    )
    .action((endpoint: string, flags: { at?: string; format: string }, command: Command) =>
      runCommand(() => {
        const ep = parseEndpoint(endpoint);
        if (ep.port === undefined) throw usage('who needs IP:PORT');
        const at = flags.at ? parseTimeArg(flags.at) : BigInt(Date.now()) * 1_000_000n;
        const store = openStoreForReading(dataDirFromOptions(command));
        try {
          const answer = who(store, ep.ip, ep.port, at);
          if (!answer) {
            process.stderr.write(`no connection used ${endpoint} at ${formatTimestampNs(at)}\n`);
            return 1;
          }
          if (flags.format === 'ndjson') {
            process.stdout.write(`${answer.open.body ?? '{}'}\n`);
            if (answer.close) process.stdout.write(`${answer.close.body ?? '{}'}\n`);
            return 0;
          }
          const o = answer.open;
          process.stdout.write(
            [
              `connection  ${o.connectionId ?? '-'}  (matched on the ${answer.leg} leg)`,
              `listener    ${o.listener ?? '-'}`,
              `client      ${o.sourceIp}:${o.sourcePort}  ->  ${o.destinationIp}:${o.destinationPort}`,
              `upstream    ${o.upstreamLocalIp}:${o.upstreamLocalPort}  ->  ${o.upstreamIp}:${o.upstreamPort}`,
              `user        ${o.user ?? answer.close?.user ?? '-'}`,
              `opened      ${formatTimestampNs(o.timestampNs)}`,
              `closed      ${answer.close ? formatTimestampNs(answer.close.timestampNs) : '(still open)'}`,
            ].join('\n') + '\n',
          );
          return 0;
        } finally {
          store.close();
        }
      }),
    );
}
