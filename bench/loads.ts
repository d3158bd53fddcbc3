/**
 * The client loads, each run against one host:port and reduced to one figure (per second):
 * pgbench (PostgreSQL), redis-benchmark (Redis), mysqlslap (MariaDB), and a connection-rate
 * loop. Every load is bounded by a duration or a count, so a run always ends.
 */
import net from 'node:net';
import { runCommand } from './util.js';

export const PG_DATABASE = 'pw_bench';
export const PG_SCALE = 10;

/**
 * The exact pgbench arguments (docs/benchmarks.md prints them): read-only, 8 clients, for
 * `seconds`, or for a number of `transactions` per client (bench/cpu-cost.ts).
 */
export function pgbenchArgs(
  port: number,
  length: number | { readonly transactions: number },
): string[] {
  const [flag, value] = typeof length === 'number' ? ['-T', length] : ['-t', length.transactions];
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-S',
    '-M',
    'prepared',
    '-c',
    '8',
    '-j',
    '2',
    flag,
    String(value),
    '-n',
    PG_DATABASE,
  ];
}

/** Create and initialise the pgbench database once (scale 10); later runs reuse it. */
export async function preparePgbench(): Promise<void> {
  const psql = (db: string, sql: string) =>
    runCommand('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-Atc', sql]);
  const exists = (
    await psql('postgres', `SELECT 1 FROM pg_database WHERE datname = '${PG_DATABASE}'`)
  ).stdout.trim();
  if (exists !== '1') await psql('postgres', `CREATE DATABASE ${PG_DATABASE}`);
  const rows = await psql(
    PG_DATABASE,
    "SELECT count(*) FROM pg_tables WHERE tablename = 'pgbench_accounts'",
  );
  if (rows.stdout.trim() === '1') {
    const n = (await psql(PG_DATABASE, 'SELECT count(*) FROM pgbench_branches')).stdout.trim();
    if (n === String(PG_SCALE)) return;
  }
  await runCommand(
    'pgbench',
    ['-h', '127.0.0.1', '-U', 'postgres', '-i', '-q', '-s', String(PG_SCALE), PG_DATABASE],
    { timeoutMs: 300_000 },
  );
}

/** pgbench tps (without initial connection time). */
export async function pgbench(port: number, seconds: number): Promise<number> {
  const { stdout } = await runCommand('pgbench', pgbenchArgs(port, seconds), {
    timeoutMs: (seconds + 60) * 1000,
  });
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (!m?.[1]) throw new Error(`pgbench: no tps in output:\n${stdout}`);
  return Number(m[1]);
}

export function redisBenchmarkArgs(port: number, pipeline: number, requests: number): string[] {
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-t',
    'get,set',
    '-c',
    '50',
    '-n',
    String(requests),
    '-P',
    String(pipeline),
    '--csv',
  ];
}

/** redis-benchmark requests per second for GET and SET. */
export async function redisBenchmark(
  port: number,
  pipeline: number,
  requests: number,
): Promise<{ get: number; set: number }> {
  const { stdout } = await runCommand(
    'redis-benchmark',
    redisBenchmarkArgs(port, pipeline, requests),
    { timeoutMs: 300_000 },
  );
  const rate = (name: string): number => {
    const m = new RegExp(`^"${name}","([\\d.]+)"`, 'm').exec(stdout);
    if (!m?.[1]) throw new Error(`redis-benchmark: no ${name} rate in output:\n${stdout}`);
    return Number(m[1]);
  };
  return { get: rate('GET'), set: rate('SET') };
}

export const MYSQL_QUERY = 'SELECT v FROM test.pw_bench_kv WHERE id = 7';

export function mysqlslapArgs(port: number, queries: number): string[] {
  return [
    '-h',
    '127.0.0.1',
    '-P',
    String(port),
    '-u',
    'root',
    '--concurrency=8',
    '--iterations=1',
    `--number-of-queries=${queries}`,
    `--query=${MYSQL_QUERY}`,
    '--create-schema=test',
  ];
}

/** A 100-row key/value table in MariaDB's `test` database for the read query. */
export async function prepareMysql(): Promise<void> {
  const sql = [
    'CREATE TABLE IF NOT EXISTS test.pw_bench_kv (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL)',
    "INSERT IGNORE INTO test.pw_bench_kv SELECT seq, CONCAT('value-', seq) FROM seq_1_to_100",
  ].join(';');
  await runCommand('mariadb', ['-h', '127.0.0.1', '-u', 'root', '-D', 'test', '-e', sql]);
}

/** mysqlslap queries per second: the total query count over the average run time. */
export async function mysqlslap(port: number, queries: number): Promise<number> {
  const { stdout } = await runCommand('mysqlslap', mysqlslapArgs(port, queries), {
    timeoutMs: 300_000,
  });
  const m = /Average number of seconds to run all queries: ([\d.]+) seconds/.exec(stdout);
  if (!m?.[1]) throw new Error(`mysqlslap: no time in output:\n${stdout}`);
  return queries / Math.max(Number(m[1]), 0.001);
}

/**
 * Connections per second through a relay to Redis: each connection connects, sends PING,
 * waits for +PONG and closes, `concurrency` at a time, `total` in all. PING makes it a whole
 * round trip through the relay's upstream connect, not only the kernel's accept.
 */
export async function connectionRate(
  port: number,
  total: number,
  concurrency = 16,
): Promise<number> {
  let started = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await one();
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return total / seconds;
}
