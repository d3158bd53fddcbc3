/** `portwarden who` when it runs (who.ts defines the command; this loads the store). */
import type { Command } from 'commander';
import { formatTimestampNs } from '../../audit/clock.js';
import type { ConnectionAt, Store } from '../../store/index.js';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import { parseEndpoint } from '../filter-options.js';
import { usage } from '../io.js';
import { parseTimeArg } from '../time.js';
import type { WhoFlags } from './who.js';

/** Find the connection that used `ip:port` at `atNs` on either leg (see Store.connectionAt). */
export function who(store: Store, ip: string, port: number, atNs: bigint): ConnectionAt | null {
  return store.connectionAt(ip, port, atNs);
}

export async function runWho(endpoint: string, flags: WhoFlags, command: Command): Promise<number> {
  const ep = parseEndpoint(endpoint);
  if (ep.port === undefined) throw usage('who needs IP:PORT');
  const at = flags.at ? parseTimeArg(flags.at) : BigInt(Date.now()) * 1_000_000n;
  const store = openStoreForReading(await dataDirFromOptions(command));
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
}
