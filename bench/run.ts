/**
 * `npm run bench`: the whole side-by-side suite in one bounded run. Every load runs against
 * the server directly, through HAProxy, through a bare Node pipe() relay, through portwarden
 * `tcp` and through portwarden with the protocol (strict; PostgreSQL also async). Prints a
 * markdown table of rates and ratios and writes it, with the machine and the commands, into
 * docs/benchmarks.md.
 *
 *   npm run build && npm run bench            # full run (about 6 minutes)
 *   npm run bench -- --quick                  # a 1-minute smoke run (not written to docs)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startHaproxy } from './haproxy.js';
import type { Relay } from './haproxy.js';
import { holding, idleRss } from './idle.js';
import {
  connectionRate,
  mysqlslap,
  mysqlslapArgs,
  pgbench,
  pgbenchArgs,
  prepareMysql,
  preparePgbench,
  redisBenchmark,
  redisBenchmarkArgs,
} from './loads.js';
import { startPortwarden } from './portwarden.js';
import type { PortwardenListener } from './portwarden.js';
import type { Measurement, MemoryRow } from './report.js';
import { machineLine, memoryTable, throughputTable, writeResults } from './report.js';
import type { Background } from './util.js';
import {
  delay,
  freePort,
  killAllBackground,
  runBenchmark,
  runCommand,
  spawnBackground,
  waitForPort,
} from './util.js';

const quick = process.argv.includes('--quick');
const PG_SECONDS = quick ? 3 : 10;
const REDIS_REQUESTS = quick ? 20_000 : 100_000;
const MYSQL_QUERIES = quick ? 10_000 : 100_000;
const CONNECTS = quick ? 1000 : 5000;
/** Records for the append / verify / search rates (1M and 10M: docs/benchmarks.md sections). */
const STORE_RECORDS = quick ? 20_000 : 200_000;
const DOCS = resolve(import.meta.dirname, '..', 'docs', 'benchmarks.md');
const TSX = ['--import', 'tsx'];

const TARGETS = {
  pg: { host: '127.0.0.1', port: 5432 },
  redis: { host: '127.0.0.1', port: 6379 },
  mysql: { host: '127.0.0.1', port: 3306 },
} as const;
type Service = keyof typeof TARGETS | 'hold';

/** The open-file limit this process (and its children) runs with. */
function openFileLimit(): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m?.[1] ? Number(m[1]) : 1024;
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function main(): Promise<void> {
  log(`machine: ${machineLine()}`);
  await preparePgbench();
  await prepareMysql();

  const holdPort = await freePort();
  const holder = spawnBackground(process.execPath, [
    ...TSX,
    resolve(import.meta.dirname, 'hold-server.ts'),
    String(holdPort),
  ]);
  await waitForPort(holdPort);
  const target = (s: Service) =>
    s === 'hold' ? { host: '127.0.0.1', port: holdPort } : TARGETS[s];
  const services: Service[] = ['pg', 'redis', 'mysql', 'hold'];

  const port: Record<string, number> = {};
  for (const s of services)
    for (const via of ['haproxy', 'pipe', 'pwtcp']) port[`${via}:${s}`] = await freePort();
  for (const s of ['pg', 'redis', 'mysql', 'pgasync']) port[`pwproto:${s}`] = await freePort();
  const p = (key: string): number => {
    const v = port[key];
    if (v === undefined) throw new Error(`no port for ${key}`);
    return v;
  };

  const relays: Relay[] = services.map((s) => ({
    name: s,
    listenPort: p(`haproxy:${s}`),
    targetHost: target(s).host,
    targetPort: target(s).port,
  }));
  const limit = openFileLimit();
  const haproxy = await startHaproxy(relays, limit);
  const pipes: Record<string, Background> = {};
  for (const s of services) {
    const t = target(s);
    pipes[s] = spawnBackground(process.execPath, [
      ...TSX,
      resolve(import.meta.dirname, 'pipe-proxy.ts'),
      String(p(`pipe:${s}`)),
      `${t.host}:${t.port}`,
    ]);
    await waitForPort(p(`pipe:${s}`));
  }
  const pwListeners: PortwardenListener[] = [
    ...services.map((s): PortwardenListener => ({
      name: `tcp-${s}`,
      listenPort: p(`pwtcp:${s}`),
      targetHost: target(s).host,
      targetPort: target(s).port,
      protocol: 'tcp',
    })),
    {
      name: 'postgres',
      listenPort: p('pwproto:pg'),
      ...hostPort(TARGETS.pg),
      protocol: 'postgres',
    },
    {
      name: 'redis',
      listenPort: p('pwproto:redis'),
      ...hostPort(TARGETS.redis),
      protocol: 'redis',
    },
    {
      name: 'mysql',
      listenPort: p('pwproto:mysql'),
      ...hostPort(TARGETS.mysql),
      protocol: 'mysql',
    },
  ];
  const pw = await startPortwarden({ mode: 'strict', listeners: pwListeners });

  const rows: Measurement[] = [];
  const record = (load: string, via: string, value: number, unit: string): void => {
    rows.push({ load, via, value, unit });
    log(`${load} via ${via}: ${value.toFixed(1)} ${unit}`);
  };

  // PostgreSQL: pgbench -S -M prepared -c 8 -j 2.
  const pgLoad = 'pgbench -S -M prepared -c 8';
  record(pgLoad, 'direct', await pgbench(TARGETS.pg.port, PG_SECONDS), 'tps');
  record(pgLoad, 'haproxy', await pgbench(p('haproxy:pg'), PG_SECONDS), 'tps');
  record(pgLoad, 'pipe', await pgbench(p('pipe:pg'), PG_SECONDS), 'tps');
  record(pgLoad, 'portwarden tcp strict', await pgbench(p('pwtcp:pg'), PG_SECONDS), 'tps');
  record(pgLoad, 'portwarden postgres strict', await pgbench(p('pwproto:pg'), PG_SECONDS), 'tps');
  const pwAsync = await startPortwarden({
    mode: 'async',
    listeners: [
      {
        name: 'postgres',
        listenPort: p('pwproto:pgasync'),
        ...hostPort(TARGETS.pg),
        protocol: 'postgres',
      },
    ],
  });
  record(
    pgLoad,
    'portwarden postgres async',
    await pgbench(p('pwproto:pgasync'), PG_SECONDS),
    'tps',
  );
  await pwAsync.stop();

  // Redis: redis-benchmark -t get,set -c 50, unpipelined and -P 16.
  for (const pipeline of [1, 16]) {
    const viaPorts: [string, number][] = [
      ['direct', TARGETS.redis.port],
      ['haproxy', p('haproxy:redis')],
      ['pipe', p('pipe:redis')],
      ['portwarden tcp strict', p('pwtcp:redis')],
      ['portwarden redis strict', p('pwproto:redis')],
    ];
    for (const [via, viaPort] of viaPorts) {
      // Protocol listeners run fewer requests (rates, not totals, are compared) so a slow
      // configuration cannot stretch the run past its budget.
      const requests = REDIS_REQUESTS * (pipeline > 1 ? 4 : 1) * (via.includes('redis') ? 0.1 : 1);
      const r = await redisBenchmark(viaPort, pipeline, requests);
      record(`redis GET -c 50 -P ${pipeline}`, via, r.get, 'req/s');
      record(`redis SET -c 50 -P ${pipeline}`, via, r.set, 'req/s');
    }
  }

  // MariaDB: mysqlslap, concurrency 8, a primary-key read.
  const myLoad = 'mysqlslap -c 8 (PK read)';
  for (const [via, viaPort] of [
    ['direct', TARGETS.mysql.port],
    ['haproxy', p('haproxy:mysql')],
    ['pipe', p('pipe:mysql')],
    ['portwarden tcp strict', p('pwtcp:mysql')],
    ['portwarden mysql strict', p('pwproto:mysql')],
  ] as const) {
    const queries = via.includes('mysql') ? MYSQL_QUERIES / 10 : MYSQL_QUERIES;
    record(myLoad, via, await mysqlslap(viaPort, queries), 'q/s');
  }

  // Connection rate: connect, PING, +PONG, close — 16 at a time, through tcp relays to Redis.
  const connLoad = 'connect+PING+close (Redis), 16 at a time';
  for (const [via, viaPort] of [
    ['direct', TARGETS.redis.port],
    ['haproxy', p('haproxy:redis')],
    ['pipe', p('pipe:redis')],
    ['portwarden tcp strict', p('pwtcp:redis')],
  ] as const) {
    record(connLoad, via, await connectionRate(viaPort, CONNECTS), 'conn/s');
    await delay(500);
  }

  // Idle connections: RSS of each relay holding 1k and as many as the fd limit allows (two
  // descriptors per relayed connection, a margin for everything else).
  const big = Math.min(10_000, Math.floor((limit - 300) / 2));
  const counts = quick ? [1000] : [1000, big];
  const memory: MemoryRow[] = [];
  // A fresh gateway process for these, so its baseline is not the heap the loads grew.
  await pw.stop();
  const idlePort = await freePort();
  const pwIdle = await startPortwarden({
    mode: 'strict',
    listeners: [
      {
        name: 'tcp-hold',
        listenPort: idlePort,
        targetHost: '127.0.0.1',
        targetPort: holdPort,
        protocol: 'tcp',
      },
    ],
  });
  const relaysForIdle: [string, number, number][] = [
    ['haproxy', p('haproxy:hold'), haproxy.pid],
    ['pipe', p('pipe:hold'), pipes.hold?.pid ?? -1],
    ['portwarden tcp strict', idlePort, pwIdle.pid],
  ];
  for (const count of counts) {
    for (const [via, viaPort, pid] of relaysForIdle) {
      const r = await idleRss(viaPort, pid, holder, count);
      memory.push({ via, ...r });
      log(
        `idle ${count} via ${via}: ${r.connections} held, RSS ${(r.rss / 1048576).toFixed(1)} MiB (before ${(r.baselineRss / 1048576).toFixed(1)} MiB); holder now ${holding(holder)}`,
      );
    }
  }

  await pwIdle.stop();
  await haproxy.stop();
  for (const b of Object.values(pipes)) await b.stop();
  await holder.stop();

  // The store: append, verify and proof rates, then search latencies, on STORE_RECORDS.
  log(`store: integrity and search benchmarks at ${STORE_RECORDS} records`);
  const integrity = await runCommand(
    process.execPath,
    [...TSX, resolve(import.meta.dirname, 'integrity.ts'), String(STORE_RECORDS)],
    { timeoutMs: 1_800_000 },
  );
  const search = await runCommand(
    process.execPath,
    [...TSX, resolve(import.meta.dirname, 'search-10m.ts'), '--rows', String(STORE_RECORDS)],
    { timeoutMs: 1_800_000 },
  );
  const integrityTable = integrity.stdout
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .join('\n');
  const searchLines = search.stdout
    .split('\n')
    .filter((l) => /p95|store:|generated|built/.test(l))
    .map((l) => `    ${l}`);

  const commands = [
    `pgbench ${pgbenchArgs(0, PG_SECONDS).join(' ').replace('-p 0', '-p <port>')}`,
    `redis-benchmark ${redisBenchmarkArgs(0, 1, REDIS_REQUESTS).join(' ').replace('-p 0', '-p <port>')}   (and -P 16 with ${REDIS_REQUESTS * 4} requests)`,
    `mysqlslap ${mysqlslapArgs(0, MYSQL_QUERIES)
      .map((a) => (a.includes(' ') ? `"${a}"` : a))
      .join(' ')
      .replace('-P 0', '-P <port>')}`,
  ];
  const section = [
    `### Results (generated ${new Date().toISOString().slice(0, 10)})`,
    '',
    `Machine: ${machineLine()}; open-file limit ${limit}. Command: \`npm run build && npm run bench\`${quick ? ' -- --quick' : ''}.`,
    'Everything (servers, relays, clients) shares the same cores, so a relay competes with the',
    'load generator and the server; compare ratios within one run, not across machines.',
    '',
    throughputTable(rows),
    '',
    `Idle connections (the far end is a hold server; ${big < 10_000 ? `${big.toLocaleString('en-US')} is the most two descriptors per connection allow under the open-file limit of ${limit}` : '10,000 connections'}):`,
    '',
    memoryTable(memory),
    '',
    `The store at ${STORE_RECORDS.toLocaleString('en-US')} records (\`bench/integrity.ts\`, \`bench/search-10m.ts\`; 1M and 10M figures in the sections below):`,
    '',
    integrityTable,
    '',
    ...searchLines,
    '',
    'Loads, exactly:',
    '',
    ...commands.map((c) => `    ${c}`),
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (!quick) {
    writeResults(DOCS, section);
    log(`written to ${DOCS}`);
  }
}

function hostPort(t: { host: string; port: number }): { targetHost: string; targetPort: number } {
  return { targetHost: t.host, targetPort: t.port };
}

process.on('SIGINT', () => {
  killAllBackground();
  process.exit(130);
});

runBenchmark('bench', main);
