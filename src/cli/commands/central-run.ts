/**
 * `portwarden central search|who|verify|nodes` when they run (central.ts defines the
 * commands; this loads the central PostgreSQL store).
 */
import { formatTimestampNs } from '../../audit/clock.js';
import {
  CentralReader,
  CentralStore,
  decodeCursor,
  encodeCursor,
  verifyCentralNode,
  type CentralFilter,
  type CentralRow,
} from '../../ship/index.js';
import { parseEndpoint, toFilter } from '../filter-options.js';
import { usage } from '../io.js';
import { parseTimeArg } from '../time.js';
import type { CentralSearchFlags, CentralVerifyFlags } from './central.js';
import { collectKeys } from './collect.js';

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

/** `central search`. */
export async function runCentralSearch(f: CentralSearchFlags): Promise<number> {
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
}

/** `central who IP:PORT`. */
export async function runCentralWho(
  text: string,
  f: { readonly store: string; readonly at?: string },
): Promise<number> {
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
}

/** `central verify --node NAME`. */
export async function runCentralVerify(f: CentralVerifyFlags): Promise<number> {
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
}

/** `central nodes`. */
export async function runCentralNodes(f: { readonly store: string }): Promise<number> {
  const store = await CentralStore.open(f.store, { max: 1 });
  try {
    process.stdout.write('NODE\tRECORDS\tCHECKPOINT\tPENDING\tQUARANTINED\tFINDINGS\tSTATE\n');
    let broken = 0;
    for (const n of await store.nodes()) {
      if (n.broken) broken++;
      process.stdout.write(
        `${n.node}\t${n.nextSeq}\t${n.checkpointSize ?? '-'}\t${n.pending}\t${n.quarantined}\t${n.findings}\t${n.broken ? 'BROKEN' : 'ok'}\n`,
      );
    }
    for (const x of await store.findings())
      process.stdout.write(`finding: ${x.node} ${x.kind} at ${x.sequence ?? '-'}: ${x.detail}\n`);
    return broken > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}
