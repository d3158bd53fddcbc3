/**
 * `portwarden who IP:PORT [--at TIME]` — which connection held that endpoint, on its client
 * leg (source) or its upstream leg (the gateway's own source port the target saw), then.
 */
import { Command } from 'commander';
import { formatTimestampNs } from '../../audit/clock.js';
import type { ConnectionAt, Store } from '../../store/index.js';
import { parseEndpoint } from '../filter-options.js';
import { dataDirFromOptions, openStoreForReading, runCommand, usage } from '../io.js';
import { parseTimeArg } from '../time.js';

/** Find the connection that used `ip:port` at `atNs` on either leg (see Store.connectionAt). */
export function who(store: Store, ip: string, port: number, atNs: bigint): ConnectionAt | null {
  return store.connectionAt(ip, port, atNs);
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
