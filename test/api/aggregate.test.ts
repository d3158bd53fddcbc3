/**
 * GET /api/v1/events?aggregate=statement against a data set with known answers: records
 * written at chosen times into the store of an in-process gateway, then folded through the
 * API (fastify inject). Checks the folded rows, exact counts, every page size in both
 * orders (keyset pages give the same rows as one big page), the records of a group, and
 * every refusal.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, type ApiServer } from '../../src/api/index.js';
import { canonicalJson } from '../../src/audit/canonical.js';
import type { JsonObject } from '../../src/audit/event.js';
import { MerkleTree } from '../../src/audit/tree.js';
import { formatIssues, parseConfigText } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/log.js';
import { SqliteStore } from '../../src/store/index.js';

/** 2026-11-02T10:00:00Z: window A is 10:00, B is 10:01, C is 10:05. */
const T0 = 1_793_613_600_000n * 1_000_000n;
const at = (seconds: number): bigint => T0 + BigInt(Math.round(seconds * 1000)) * 1_000_000n;

interface Spec {
  readonly s: number;
  readonly action: string;
  readonly listener: string;
  readonly user?: string;
  readonly text?: string;
  readonly outcome?: 'success' | 'failure';
}

const LONG = `select ${"'x', ".repeat(40_000)}1`;

/** The data set, in sequence order (the comment is the sequence). */
const SPECS: readonly Spec[] = [
  /* 0 */ { s: 1, action: 'connection-open', listener: 'orders-db', outcome: 'success' },
  /* 1 */ q(2, 'app', 'SELECT * FROM orders WHERE id = 1'),
  /* 2 */ r(3, 'app', 'success'),
  /* 3 */ q(4, 'app', 'select *  from orders where id = 2'),
  /* 4 */ r(5, 'app', 'success'),
  /* 5 */ q(6, 'app', 'SELECT * FROM orders WHERE id = 3 -- retry', 'failure'),
  /* 6 */ r(7, 'app', 'failure'),
  /* 7 */ q(8, 'bob', 'SELECT * FROM orders WHERE id = 4'),
  /* 8 */ redis(9, 'GET user:1'),
  /* 9 */ redis(10, 'GET user:2'),
  /* 10 */ q(60, 'app', 'SELECT * FROM orders WHERE id = 5'),
  /* 11 */ q(90, 'app', "SELECT * FROM orders WHERE id = '6'"),
  /* 12 */ q(119.999, 'app', 'DELETE FROM orders WHERE id = 7'),
  /* 13 */ { s: 300, action: 'connection-close', listener: 'orders-db', outcome: 'success' },
  /* 14 */ q(301, 'app', LONG),
  /* 15 */ q(302, 'app', LONG.replace("'x'", "'y'")),
];

function q(s: number, user: string, text: string, outcome: 'success' | 'failure' = 'success') {
  return { s, action: 'db-query', listener: 'orders-db', user, text, outcome } as const;
}
function r(s: number, user: string, outcome: 'success' | 'failure') {
  return { s, action: 'db-result', listener: 'orders-db', user, outcome } as const;
}
function redis(s: number, text: string) {
  return { s, action: 'redis-command', listener: 'cache', user: 'worker', text } as const;
}

/** `GET user:1` as the Redis parser records it: the command and its key. */
function redisParts(text: string): JsonObject {
  const [command = '', key] = text.split(' ');
  return key === undefined ? { command } : { command, key };
}

/** Writes SPECS through the Store interface with canonical bodies, leaf hashes and tree nodes. */
function fillStore(store: SqliteStore, specs: readonly Spec[]): void {
  const tree = new MerkleTree(store, 0);
  store.transaction(() => {
    specs.forEach((spec, sequence) => {
      const ts = at(spec.s);
      const id = `0193aggr-${String(sequence).padStart(4, '0')}`;
      const record: JsonObject = {
        '@timestamp': new Date(Number(ts / 1_000_000n)).toISOString(),
        event: {
          id,
          sequence,
          action: spec.action,
          kind: 'event',
          ...(spec.outcome ? { outcome: spec.outcome } : {}),
        },
        listener: { name: spec.listener },
        connection: { id: 'c-1' },
        source: { ip: '10.0.0.1', port: 50001 },
        observer: { id: 'test-node' },
        ...(spec.user ? { user: { name: spec.user } } : {}),
        ...(spec.text && spec.action === 'db-query' ? { db: { query: { text: spec.text } } } : {}),
        ...(spec.text && spec.action === 'redis-command' ? { redis: redisParts(spec.text) } : {}),
      };
      const body = canonicalJson(record);
      const leafHash = createHash('sha256')
        .update(Buffer.from([0]))
        .update(body)
        .digest();
      store.insertEvent({
        sequence,
        timestampNs: ts,
        id,
        action: spec.action,
        outcome: spec.outcome ?? null,
        listener: spec.listener,
        connectionId: 'c-1',
        sourceIp: '10.0.0.1',
        sourcePort: 50001,
        destinationIp: null,
        destinationPort: null,
        upstreamLocalIp: null,
        upstreamLocalPort: null,
        upstreamIp: null,
        upstreamPort: null,
        user: spec.user ?? null,
        communityId: null,
        text: spec.text ?? null,
        body,
        leafHash,
      });
      tree.append(leafHash);
    });
  });
}

interface Api {
  readonly api: ApiServer;
  readonly gateway: Gateway;
  readonly dir: string;
}

async function startApi(specs: readonly Spec[], dashboard?: JsonObject): Promise<Api> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-aggr-'));
  const text = stringify({
    node: 'test-node',
    data_dir: dir,
    listeners: [
      { name: 'orders-db', listen: '127.0.0.1:0', target: '127.0.0.1:5432', protocol: 'postgres' },
      { name: 'cache', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
    ],
    api: { listen: '127.0.0.1:0' },
    ...(dashboard ? { dashboard } : {}),
  });
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new Error(formatIssues('test-config', parsed.issues));
  const store = new SqliteStore(':memory:');
  fillStore(store, specs);
  const gateway = Gateway.create(
    { file: join(dir, 'portwarden.yaml'), config: parsed.config, text },
    { log: silentLogger(), store },
  );
  const api = await createApiServer({
    gateway,
    log: silentLogger(),
    webRoot: null,
    processMetrics: false,
  });
  return { api, gateway, dir };
}

async function stopApi(a: Api | undefined): Promise<void> {
  if (a === undefined) return;
  await a.api.close();
  a.gateway.store.close();
  rmSync(a.dir, { recursive: true, force: true });
}

interface Row {
  kind: 'group' | 'event';
  position: number;
  group?: string;
  count?: number;
  text?: string | null;
  user?: string | null;
  action?: string;
  first?: { sequence: number; timestamp: string };
  last?: { sequence: number; timestamp: string };
  outcomes?: Record<string, number>;
  window?: { since: string; until: string };
  event?: { sequence: number };
}

let main: Api;

beforeAll(async () => {
  main = await startApi(SPECS);
});
afterAll(async () => {
  await stopApi(main);
});

async function get<T>(a: Api, url: string): Promise<{ status: number; body: T }> {
  const res = await a.api.app.inject({ url });
  return { status: res.statusCode, body: res.json<T>() };
}

/** Query parameters joined, empty parts left out. */
const qs = (...parts: string[]): string => parts.filter((p) => p !== '').join('&');

function page(query: string): Promise<{ rows: Row[]; next: number | null }> {
  return page2(main, query);
}

/** Compact view of a row: `G<position>x<count>` or `E<sequence>`. */
const brief = (r: Row): string =>
  r.kind === 'group' ? `G${r.position}x${r.count}` : `E${r.event?.sequence}`;

/** Every page of `query` with page size `limit`, concatenated. */
async function allPages(query: string, limit: number): Promise<Row[]> {
  const rows: Row[] = [];
  let after: number | null = null;
  for (let i = 0; i < 100; i++) {
    const p = await page(qs(query, `limit=${limit}`, after === null ? '' : `after=${after}`));
    rows.push(...p.rows);
    if (p.next === null) return rows;
    after = p.next;
  }
  throw new Error('pages never ended');
}

describe('aggregate=statement', () => {
  it('folds repeats of one statement shape per listener, user, action and window', async () => {
    const p = await page('action=db-query&order=oldest&until=2026-11-02T10:02:00Z');
    expect(p.rows.map(brief)).toEqual(['G1x3', 'E7', 'G10x2', 'E12']);
    expect(p.next).toBeNull();
    const [a, , b] = p.rows;
    expect(a).toMatchObject({
      kind: 'group',
      listener: 'orders-db',
      user: 'app',
      action: 'db-query',
      text: 'select * from orders where id = ?',
      count: 3,
      first: { sequence: 1, timestamp: '2026-11-02T10:00:02.000000000Z' },
      last: { sequence: 5, timestamp: '2026-11-02T10:00:06.000000000Z' },
      outcomes: { success: 2, failure: 1 },
      window: { since: '2026-11-02T10:00:00.000000000Z', until: '2026-11-02T10:01:00.000000000Z' },
    });
    // A quoted literal and a number are the same shape.
    expect(b).toMatchObject({ count: 2, first: { sequence: 10 }, last: { sequence: 11 } });
  });

  it('folds every kind of record the same way, unfiltered, oldest and newest first', async () => {
    const oldest = await page('order=oldest');
    expect(oldest.rows.map(brief)).toEqual([
      'E0',
      'G1x3',
      'G2x3',
      'E7',
      'G8x2',
      'G10x2',
      'E12',
      'E13',
      'G14x2',
    ]);
    const newest = await page('');
    expect(newest.rows.map(brief)).toEqual([
      'G15x2',
      'E13',
      'E12',
      'G11x2',
      'G9x2',
      'E7',
      'G6x3',
      'G5x3',
      'E0',
    ]);
    // Redis keys fold by their shape too: GET user:1 and GET user:2.
    expect(oldest.rows.find((x) => x.position === 8)).toMatchObject({ text: 'GET user:?' });
  });

  it('counts exactly: folded counts plus single rows are the matching records', async () => {
    for (const query of ['order=oldest', '', 'action=db-query', 'user=app', 'window=1h']) {
      const rows = await allPages(query, 1000);
      const total = rows.reduce((n, x) => n + (x.kind === 'group' ? (x.count ?? 0) : 1), 0);
      const plain = await get<{ events: unknown[] }>(
        main,
        `/api/v1/events?${qs('limit=1000', query.replace('window=1h', ''))}`,
      );
      expect(total, query).toBe(plain.body.events.length);
    }
  });

  it('pages with a keyset cursor: every page size gives the rows of one big page', async () => {
    for (const order of ['oldest', 'newest']) {
      const whole = (await allPages(`order=${order}`, 1000)).map(brief);
      for (let limit = 1; limit <= 11; limit++) {
        const paged = (await allPages(`order=${order}`, limit)).map(brief);
        expect(paged, `${order} limit ${limit}`).toEqual(whole);
      }
    }
    const first = await page('order=oldest&limit=3');
    expect(first.rows.map(brief)).toEqual(['E0', 'G1x3', 'G2x3']);
    expect(first.next).toBe(2);
  });

  it('honours window, min_repeat and the filter window', async () => {
    const hour = await page('action=db-query&window=1h&order=oldest');
    expect(hour.rows.map(brief)).toEqual(['G1x5', 'E7', 'E12', 'G14x2']);
    const one = await page('action=db-query&min_repeat=1&order=oldest&user=bob');
    expect(one.rows.map(brief)).toEqual(['G7x1']);
    const four = await page('action=db-query&min_repeat=4&order=oldest&until=2026-11-02T10:02:00Z');
    expect(four.rows.map(brief)).toEqual(['E1', 'E3', 'E5', 'E7', 'E10', 'E11', 'E12']);
    const since = await page('action=db-query&order=oldest&since=2026-11-02T10:00:04Z&user=app');
    expect(since.rows.map(brief).slice(0, 2)).toEqual(['G3x2', 'G10x2']);
  });

  it('cuts a very long shape for display and keeps its exact count', async () => {
    // Two statements of 120 000 characters that differ in one literal.
    const p = await page('action=db-query&since=2026-11-02T10:05:00Z');
    expect(p.rows.map(brief)).toEqual(['G15x2']);
    expect(p.rows[0]?.text?.length).toBe(4097);
    expect(p.rows[0]?.text?.startsWith('select ?, ?, ?')).toBe(true);
    expect(p.rows[0]?.text?.endsWith('…')).toBe(true);
  });

  it('lists the records of one folded row, keyset-paged', async () => {
    const p = await page('action=db-query&order=oldest');
    const group = p.rows[0]?.group ?? '';
    expect(group).toMatch(/^60000\.\d+\.[0-9a-f]{32}$/);
    const seqs = async (q: string): Promise<{ s: number[]; next: number | null }> => {
      const res = await get<{ events: { sequence: number }[]; next: number | null }>(
        main,
        `/api/v1/events?${qs(`group=${group}`, q)}`,
      );
      expect(res.status).toBe(200);
      return { s: res.body.events.map((e) => e.sequence), next: res.body.next };
    };
    expect((await seqs('order=oldest')).s).toEqual([1, 3, 5]);
    expect((await seqs('')).s).toEqual([5, 3, 1]);
    const p1 = await seqs('order=oldest&limit=2');
    expect(p1.s).toEqual([1, 3]);
    const p2 = await seqs(`order=oldest&limit=2&after=${p1.next}`);
    expect(p2).toEqual({ s: [5], next: null });
    // The group's records under a narrower filter: only those that match it.
    expect((await seqs('order=oldest&outcome=failure')).s).toEqual([5]);
  });

  it('refuses bad aggregation parameters with 400 and the parameter named', async () => {
    const bad: [string, RegExp][] = [
      ['aggregate=connection', /aggregate/],
      ['aggregate=statement&window=0s', /window/],
      ['aggregate=statement&window=2d', /window/],
      ['aggregate=statement&window=soon', /window/],
      ['aggregate=statement&min_repeat=0', /min_repeat/],
      ['aggregate=statement&min_repeat=1e3', /min_repeat/],
      ['window=1m', /window/],
      ['group=nope', /group/],
      [`group=60000.1.${'a'.repeat(32)}&aggregate=statement`, /group/],
      ['aggregate=statement&aggregate=statement', /aggregate/],
      ['aggregate=statement&limit=5000', /limit/],
    ];
    for (const [query, message] of bad) {
      const res = await get<{ error: { code: string; message: string } }>(
        main,
        `/api/v1/events?${query}`,
      );
      expect(`${query} ${res.status}`).toBe(`${query} 400`);
      expect(res.body.error.code).toBe('PW_ERR_QUERY');
      expect(res.body.error.message).toMatch(message);
    }
  });
});

describe('aggregation settings', () => {
  let other: Api | undefined;
  afterAll(async () => stopApi(other));

  it('is refused when dashboard.aggregate.enabled is false', async () => {
    other = await startApi(SPECS.slice(0, 4), { aggregate: { enabled: false } });
    const res = await get<{ error: { message: string } }>(
      other,
      '/api/v1/events?aggregate=statement',
    );
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/dashboard\.aggregate\.enabled/);
    expect((await get(other, '/api/v1/events')).status).toBe(200);
    await stopApi(other);
    other = undefined;
  });

  it('refuses a window holding more than max_scan records, and pages up to one', async () => {
    const burst: Spec[] = [];
    for (let i = 0; i < 1500; i++) burst.push(q(1 + i / 1000, 'app', `select ${i}`));
    burst.push(q(61, 'app', 'select 1'), q(62, 'app', 'select 2'));
    other = await startApi(burst, { aggregate: { max_scan: 1000 } });
    const oldest = await get<{ error: { message: string } }>(
      other,
      '/api/v1/events?aggregate=statement&order=oldest',
    );
    expect(oldest.status).toBe(400);
    expect(oldest.body.error.message).toMatch(/more than 1000 matching records/);
    // Newest first, the small window comes first and is answered; the next page is refused.
    const newest = await get<{ rows: Row[]; next: number | null }>(
      other,
      '/api/v1/events?aggregate=statement',
    );
    expect(newest.status).toBe(200);
    expect(newest.body.rows.map(brief)).toEqual(['G1501x2']);
    expect(newest.body.next).toBe(1500);
    const more = await get(other, `/api/v1/events?aggregate=statement&after=1500`);
    expect(more.status).toBe(400);
    // Narrowed to fewer records than max_scan, the big window folds.
    const narrowed = await page2(other, 'order=oldest&until=2026-11-02T10:00:01.900Z');
    expect(narrowed.rows.map(brief)).toEqual(['G0x900']);
  });
});

async function page2(a: Api, query: string): Promise<{ rows: Row[]; next: number | null }> {
  const res = await get<{ rows: Row[]; next: number | null }>(
    a,
    `/api/v1/events?${qs('aggregate=statement', query)}`,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}
