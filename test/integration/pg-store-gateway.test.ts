/**
 * End to end on `store: postgres://…`: a gateway keeps its records in a schema of the local
 * PostgreSQL (database `test`) while it relays psql and redis-cli traffic; then the real
 * CLI's `search`, `who` and `verify` read that store through the same config, `prune`
 * appends to it, and a row edited in PostgreSQL is caught by `verify`.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { JsonObject } from '../../src/audit/event.js';
import { formatTimestampNs, parseTimestampNs } from '../../src/audit/clock.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { run, runToExit } from '../helpers/run.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `pw_e2e_${process.pid}`;
const STORE = `${PG_URL}?schema=${SCHEMA}`;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let gw: TestGateway;
let dataDir: string;
let configDir: string;
let configFile: string;
let events: JsonObject[];

function cli(...args: string[]) {
  return runToExit(process.execPath, ['--import', 'tsx', MAIN, '-c', configFile, ...args]);
}

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

const isClose = (e: JsonObject) => (e.event as JsonObject).action === 'connection-close';

beforeAll(async () => {
  gw = await startGateway({
    listeners: [
      { name: 'pg', listen: '127.0.0.1:0', target: '127.0.0.1:5432', protocol: 'postgres' },
      { name: 'cache', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
    ],
    extra: { store: STORE },
  });
  dataDir = gw.dataDir;
  await run('psql', [
    '-X',
    '-h',
    '127.0.0.1',
    '-p',
    String(gw.port('pg')),
    '-U',
    'postgres',
    '-d',
    'test',
    '-c',
    'select 42 as answer_from_pg_store',
  ]);
  await run('redis-cli', ['-p', String(gw.port('cache')), 'SET', 'pw:pgstore', 'v']);
  await run('redis-cli', ['-p', String(gw.port('cache')), 'GET', 'pw:pgstore']);
  events = await gw.waitForEvents((e) => e.filter(isClose).length === 3, 20_000);
  configDir = mkdtempSync(join(tmpdir(), 'pw-pgstore-cli-'));
  configFile = join(configDir, 'portwarden.yaml');
  writeFileSync(configFile, stringify({ node: 'test-node', data_dir: dataDir, store: STORE }));
}, 60_000);

afterAll(async () => {
  await gw.stop();
  rmSync(configDir, { recursive: true, force: true });
  await sql(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
});

describe('a gateway on store: postgres://', () => {
  it('keeps every record in PostgreSQL and none in the data dir', async () => {
    expect(byAction(events, 'db-query').map((e) => field(e, 'db.query.text'))).toContain(
      'select 42 as answer_from_pg_store',
    );
    expect(byAction(events, 'redis-command').map((e) => field(e, 'redis.command'))).toEqual([
      'set',
      'get',
    ]);
    expect(gw.gateway.store.kind).toBe('postgres');
    expect(existsSync(join(dataDir, 'portwarden.db'))).toBe(false);
    const [rows] = await sql<{ n: string; parts: string }>(
      `SELECT count(*) AS n, (SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
         JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = 'events') AS parts
       FROM ${SCHEMA}.events`,
      [SCHEMA],
    );
    expect(Number(rows?.n)).toBe(gw.gateway.store.nextSequence());
    expect(Number(rows?.parts)).toBeGreaterThanOrEqual(2);
  });

  it('search, who and verify work against it through the CLI', { timeout: 120_000 }, async () => {
    const [text, count, groups] = await Promise.all([
      cli('search', '--text', 'answer_from_pg*', '--format', 'ndjson'),
      cli('search', '--listener', 'cache', '--count'),
      cli('search', '--group-by', 'operation', '--action', 'redis-command'),
    ]);
    expect(text.code, text.stderr).toBe(0);
    const found = text.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as JsonObject);
    expect(found.map((e) => (e.event as JsonObject).action)).toEqual(['db-query']);
    expect(count.stdout.trim()).toBe(
      String(events.filter((e) => field(e, 'listener.name') === 'cache').length),
    );
    expect(groups.stdout).toContain('SET\t1');
    expect(groups.stdout).toContain('GET\t1');

    const open = byAction(events, 'connection-open').find(
      (e) => field(e, 'listener.name') === 'pg',
    );
    expect(open).toBeDefined();
    const at = formatTimestampNs(
      (parseTimestampNs(String(field(open ?? {}, '@timestamp'))) ?? 0n) + 1n,
    );
    const [client, upstream] = await Promise.all([
      cli('who', `127.0.0.1:${String(field(open ?? {}, 'source.port'))}`, '--at', at),
      cli('who', `127.0.0.1:${String(field(open ?? {}, 'upstream.local.port'))}`, '--at', at),
    ]);
    expect(client.code, client.stderr).toBe(0);
    expect(client.stdout).toContain(`connection  ${String(field(open ?? {}, 'connection.id'))}`);
    expect(client.stdout).toContain('matched on the client leg');
    expect(upstream.stdout).toContain('matched on the upstream leg');

    await gw.gateway.stop(2000);
    gw.gateway.closeStore();
    const ok = await cli('verify');
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('prune appends to the same store; verify still passes', { timeout: 60_000 }, async () => {
    const first = events[0];
    const before = formatTimestampNs(
      (parseTimestampNs(String(field(first ?? {}, '@timestamp'))) ?? 0n) + 1n,
    );
    const pruned = await cli('prune', '--before', before);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('pruned the bodies of 1 records (sequences 0..0)');
    const [row] = await sql<{ body: string | null }>(
      `SELECT body FROM ${SCHEMA}.events WHERE seq = 0`,
    );
    expect(row?.body).toBeNull();
    const last = await cli('search', '--limit', '1', '--action', 'prune', '--format', 'ndjson');
    expect(last.stdout).toContain('"from_sequence":0');
    const ok = await cli('verify');
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('verify names the first record edited in PostgreSQL', { timeout: 60_000 }, async () => {
    const [target] = await sql<{ seq: string }>(
      `SELECT seq FROM ${SCHEMA}.events WHERE text = 'select 42 as answer_from_pg_store'`,
    );
    const seq = Number(target?.seq);
    await sql(
      `UPDATE ${SCHEMA}.events SET body = replace(body, 'answer_from_pg_store', 'answer_edited') WHERE seq = $1`,
      [seq],
    );
    const bad = await cli('verify');
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toContain(String(seq));
  });
});
