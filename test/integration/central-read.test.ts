/**
 * Reading the central store across nodes: two gateways ship to the local NATS, a collector
 * writes PostgreSQL, then `central search` pages across both nodes in both orders with
 * keyset cursors (the CLI prints the next cursor), text search has the local stores'
 * meaning, and `central serve` answers the read API (node filter, one record, who, a
 * connection's story, summary, verify, live tail, tokens).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCentralApiServer, sha256Hex, type CentralApiServer } from '../../src/api/index.js';
import { formatTimestampNs } from '../../src/audit/clock.js';
import { silentLogger } from '../../src/log.js';
import {
  CentralReader,
  CentralStore,
  type CentralFilter,
  type CentralRow,
} from '../../src/ship/index.js';
import { startCentral, type TestCentral } from '../helpers/central.js';
import { runToExit } from '../helpers/run.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let central: TestCentral;
let api: CentralApiServer;
let base: string;

const NODE_A: string[][] = [
  ...Array.from({ length: 6 }, (_, i) => ['set', `orders:pending:${i}`, 'v']),
  ['get', 'orders:pending:0'],
];
const NODE_B: string[][] = [
  ...Array.from({ length: 5 }, (_, i) => ['set', `invoices:2026:${i}`, 'v']),
  ['set', 'café:menu', 'v'],
  ['del', 'invoices:2026:0'],
];

function cli(...args: string[]) {
  return runToExit(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}src/cli/main.ts`,
    'central',
    ...args,
  ]);
}

/** Every page of `filter` (limit `size`), following `next`. */
async function allPages(filter: CentralFilter, size: number): Promise<CentralRow[][]> {
  const pages: CentralRow[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await central.store.searchPage({
      ...filter,
      limit: size,
      ...(after ? { after } : {}),
    });
    pages.push([...page.rows]);
    if (page.next === null) return pages;
    after = page.next;
  }
}

const key = (r: CentralRow): string => `${r.node}:${r.sequence}`;
const byCentralOrder = (a: CentralRow, b: CentralRow): number =>
  a.timestampNs !== b.timestampNs
    ? a.timestampNs < b.timestampNs
      ? -1
      : 1
    : a.node !== b.node
      ? a.node < b.node
        ? -1
        : 1
      : a.sequence - b.sequence;

async function get<T>(path: string, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  central = await startCentral('read', ['node-a', 'node-b']);
  await central.traffic('node-a', NODE_A);
  await central.traffic('node-b', NODE_B);
  await central.traffic('node-a', [['set', 'orders:late', 'v']]);
  await central.settle();
  api = await createCentralApiServer({
    source: new CentralReader(central.store),
    log: silentLogger(),
    listen: { host: '127.0.0.1', port: 0 },
    tokens: [],
    keys: central.keys,
    webRoot: null,
    pollMs: 100,
  });
  const bound = await api.listen();
  base = `http://127.0.0.1:${bound.port}`;
}, 90_000);

afterAll(async () => {
  await api?.close();
  await central?.stop();
});

describe('central search', () => {
  it('pages across both nodes, newest and oldest first, with cursors: every record once, in (time, node, seq) order', async () => {
    const filter: CentralFilter = { listener: 'cache' };
    const total = await central.store.count(filter);
    const everything = (await central.store.searchPage({ ...filter, limit: 10_000 })).rows;
    expect(everything.length).toBe(total);
    expect(new Set(everything.map((r) => r.node))).toEqual(new Set(['node-a', 'node-b']));
    const oldest = [...everything].sort(byCentralOrder);
    for (const order of ['newest', 'oldest'] as const) {
      const pages = await allPages({ ...filter, order }, 4);
      expect(pages.length).toBe(Math.ceil(total / 4));
      expect(pages.every((p) => p.length === 4 || p === pages[pages.length - 1])).toBe(true);
      const rows = pages.flat();
      const want = order === 'oldest' ? oldest : [...oldest].reverse();
      expect(rows.map(key)).toEqual(want.map(key));
      // Both nodes interleave in one page sequence (not node after node).
      expect(pages.some((p) => new Set(p.map((r) => r.node)).size === 2)).toBe(true);
    }
  });

  it('prints the next cursor as search does, and --after continues from it', async () => {
    const first = await cli(
      'search',
      '--store',
      central.dbUrl,
      '--listener',
      'cache',
      '--order',
      'oldest',
      '--limit',
      '5',
      '--format',
      'ndjson',
    );
    expect(first.code).toBe(0);
    const cursor = /^next: --after (\S+)$/m.exec(first.stderr)?.[1];
    expect(cursor).toMatch(/^\d+:node-[ab]:\d+$/);
    const second = await cli(
      'search',
      '--store',
      central.dbUrl,
      '--listener',
      'cache',
      '--order',
      'oldest',
      '--limit',
      '5',
      '--format',
      'ndjson',
      '--after',
      cursor ?? '',
    );
    expect(second.code).toBe(0);
    const ids = (out: string): string[] =>
      out
        .trim()
        .split('\n')
        .map((l) => {
          const r = JSON.parse(l) as { observer: { id: string }; event: { sequence: number } };
          return `${r.observer.id}:${r.event.sequence}`;
        });
    const pages = await allPages({ listener: 'cache', order: 'oldest' }, 5);
    expect(ids(first.stdout)).toEqual(pages[0]?.map(key));
    expect(ids(second.stdout)).toEqual(pages[1]?.map(key));
    const bad = await cli('search', '--store', central.dbUrl, '--after', 'not-a-cursor');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--after expects the cursor/);
  });

  it('--text means what it means on a gateway: words in order, any case and accent, trailing * a prefix', async () => {
    const texts = async (f: CentralFilter): Promise<string[]> =>
      (await central.store.searchPage({ ...f, actions: ['redis-command'], limit: 1000 })).rows.map(
        (r) => r.text ?? '',
      );
    const pending = await texts({ text: 'ORDERS pending' });
    expect(pending.length).toBe(7);
    expect(pending.every((t) => /orders:pending/i.test(t))).toBe(true);
    expect(await texts({ text: 'pending orders' })).toEqual([]);
    expect(await texts({ text: 'cafe MENU' })).toEqual(['set café:menu']);
    expect((await texts({ text: 'invoic*' })).length).toBe(6);
    expect((await texts({ text: 'invoic' })).length).toBe(0);
    expect((await texts({ text: 'set invoices 2026 3' })).length).toBe(1);
    const out = await cli(
      'search',
      '--store',
      central.dbUrl,
      '--text',
      'orders late',
      '--format',
      'ndjson',
    );
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n')).toHaveLength(1);
    expect(out.stdout).toContain('"orders:late"');
  });

  it('answers every filter of the shared model the central table holds, plus --node', async () => {
    const count = (f: CentralFilter): Promise<number> => central.store.count(f);
    const bNodes = await central.store.searchPage({ node: 'node-b', limit: 1000 });
    expect(bNodes.rows.length).toBeGreaterThan(0);
    expect(bNodes.rows.every((r) => r.node === 'node-b')).toBe(true);
    expect(await count({ node: 'node-b', operation: 'del', actions: ['redis-command'] })).toBe(1);
    expect(await count({ operation: 'SET', actions: ['redis-command'] })).toBe(13);
    const open = (await central.store.searchPage({ node: 'node-b', actions: ['connection-open'] }))
      .rows[0];
    expect(open).toBeDefined();
    const port = open?.sourcePort ?? 0;
    expect(
      await count({ sourceIp: '127.0.0.1', sourcePort: port, node: 'node-b' }),
    ).toBeGreaterThan(2);
    expect(await count({ connectionId: open?.connectionId ?? '', node: 'node-b' })).toBeGreaterThan(
      2,
    );
    expect(await count({ communityId: open?.communityId ?? '' })).toBeGreaterThan(2);
    expect(await count({ upstreamLocalPort: open?.upstreamLocalPort ?? 0 })).toBeGreaterThan(0);
    expect(await count({ port: 6379, node: 'node-a' })).toBeGreaterThan(0);
    expect(await count({ outcome: 'success', node: 'node-a' })).toBeGreaterThan(0);
    expect(await count({ module: 'kubernetes' })).toBe(0);
    expect(await count({ port: 70_000 })).toBe(0);
    const groups = await cli(
      'search',
      '--store',
      central.dbUrl,
      '--group-by',
      'node',
      '--listener',
      'cache',
    );
    expect(groups.code).toBe(0);
    expect(groups.stdout).toMatch(/^\d+\tnode-a$/m);
    expect(groups.stdout).toMatch(/^\d+\tnode-b$/m);
    const counted = await cli(
      'search',
      '--store',
      central.dbUrl,
      '--count',
      '--node',
      'node-b',
      '--operation',
      'del',
      '--action',
      'redis-command',
    );
    expect(counted.stdout.trim()).toBe('1');
  });
});

describe('central serve', () => {
  it('serves the read API over every node: session, node filter and cursors, one record', async () => {
    const session = await get<{ central: boolean; nodes: string[] }>('/api/v1/session');
    expect(session.body).toMatchObject({ central: true, nodes: ['node-a', 'node-b'] });
    type Page = { events: { node: string; ref: string; sequence: number }[]; next: string | null };
    const a = await get<Page>('/api/v1/events?node=node-a&limit=1000');
    expect(a.body.events.length).toBeGreaterThan(0);
    expect(a.body.events.every((e) => e.node === 'node-a')).toBe(true);
    const refs: string[] = [];
    let after: string | null = null;
    do {
      const q = `/api/v1/events?listener=cache&limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const page: { status: number; body: Page } = await get<Page>(q);
      expect(page.status).toBe(200);
      refs.push(...page.body.events.map((e) => e.ref));
      after = page.body.next;
    } while (after !== null);
    expect(refs.length).toBe(await central.store.count({ listener: 'cache' }));
    expect(new Set(refs).size).toBe(refs.length);
    const text = await get<Page>('/api/v1/events?text=cafe%20menu&action=redis-command');
    expect(text.body.events.map((e) => e.node)).toEqual(['node-b']);
    const ref = text.body.events[0]?.ref ?? '';
    const one = await get<{ event: { canonical: string; node: string; text: string } }>(
      `/api/v1/events/${ref}`,
    );
    expect(one.body.event).toMatchObject({ node: 'node-b', text: 'set café:menu' });
    expect(JSON.parse(one.body.event.canonical)).toMatchObject({ observer: { id: 'node-b' } });
    const bare = await get<{ error: { code: string } }>('/api/v1/events/3');
    expect(bare.status).toBe(400);
    expect((await get('/api/v1/events?after=zzz')).status).toBe(400);
    expect((await get('/api/v1/events?aggregate=statement')).status).toBe(400);
    expect((await fetch(`${base}/api/v1/listeners`)).status).toBe(404);
  });

  it('answers who and a connection story across nodes', async () => {
    const open = (await central.store.searchPage({ node: 'node-b', actions: ['connection-open'] }))
      .rows[0];
    const ep = `127.0.0.1:${open?.sourcePort ?? 0}`;
    const at = formatTimestampNs(open?.timestampNs ?? 0n);
    const who = await get<{ node: string; leg: string; open: { connection: string } }>(
      `/api/v1/who?endpoint=${ep}&at=${at}`,
    );
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ node: 'node-b', leg: 'client' });
    expect(who.body.open.connection).toBe(open?.connectionId);
    const story = await get<{
      nodes: string[];
      open: boolean;
      events: { action: string; text: string | null }[];
    }>(`/api/v1/connections/${open?.connectionId ?? ''}/story?node=node-b`);
    expect(story.body.nodes).toEqual(['node-b']);
    expect(story.body.open).toBe(false);
    expect(story.body.events[0]?.action).toBe('connection-open');
    expect(story.body.events.at(-1)?.action).toBe('connection-close');
    const texts = story.body.events.map((e) => e.text);
    expect(texts).toContain('set café:menu');
    expect(texts).toContain('del invoices:2026:0');
    expect((await get('/api/v1/connections/no-such/story')).status).toBe(404);
  });

  it('summarizes by node and verifies each node chain', async () => {
    const s = await get<{ total: number; by_node: { key: string; count: number }[] }>(
      '/api/v1/summary?listener=cache',
    );
    expect(s.body.by_node.map((g) => g.key).sort()).toEqual(['node-a', 'node-b']);
    expect(s.body.total).toBe(s.body.by_node.reduce((n, g) => n + g.count, 0));
    const res = await fetch(`${base}/api/v1/integrity/verify?node=node-a`, { method: 'POST' });
    const v = (await res.json()) as { ok: boolean; size: number };
    expect(v.ok).toBe(true);
    expect(v.size).toBeGreaterThan(0);
    const nodes = await get<{ nodes: { node: string; broken: boolean; last_verify: unknown }[] }>(
      '/api/v1/nodes',
    );
    expect(nodes.body.nodes.map((n) => [n.node, n.broken])).toEqual([
      ['node-a', false],
      ['node-b', false],
    ]);
    const cps = await get<{ checkpoints: { node: string }[] }>('/api/v1/checkpoints?node=node-b');
    expect(cps.body.checkpoints.length).toBeGreaterThan(0);
    expect(cps.body.checkpoints.every((c) => c.node === 'node-b')).toBe(true);
  });

  it('tails new records of the chosen node live', async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/api/v1/live?node=node-b&action=redis-command`, {
      signal: abort.signal,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const seen = (async () => {
      while (!text.includes('live:tail:b')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    })();
    await central.traffic('node-a', [['set', 'live:tail:a', 'v']]);
    await central.traffic('node-b', [['set', 'live:tail:b', 'v']]);
    await Promise.race([
      seen,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no live record')), 20_000)),
    ]);
    abort.abort();
    expect(text).toMatch(/event: record\ndata: .*"node":"node-b"/);
    expect(text).not.toContain('live:tail:a');
  });

  it('needs tokens off loopback and checks them', async () => {
    const source = new CentralReader(central.store);
    await expect(
      createCentralApiServer({
        source,
        log: silentLogger(),
        listen: { host: '0.0.0.0', port: 0 },
        tokens: [],
        webRoot: null,
      }),
    ).rejects.toThrow(/not a loopback address/);
    const guarded = await createCentralApiServer({
      source,
      log: silentLogger(),
      listen: { host: '127.0.0.1', port: 0 },
      tokens: [{ name: 'ops', role: 'viewer', token_sha256: sha256Hex('s3cret') }],
      webRoot: null,
    });
    try {
      const port = (await guarded.listen()).port;
      const url = `http://127.0.0.1:${port}/api/v1/events?limit=1`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
      const verify = await fetch(`http://127.0.0.1:${port}/api/v1/integrity/verify`, {
        method: 'POST',
        headers: { authorization: 'Bearer s3cret' },
      });
      expect(verify.status).toBe(403);
    } finally {
      await guarded.close();
    }
  });

  it('runs as `portwarden central serve` and stops on SIGTERM', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        `${ROOT}src/cli/main.ts`,
        'central',
        'serve',
        '--store',
        central.dbUrl,
        '--listen',
        '127.0.0.1:0',
        '--no-web',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORTWARDEN_LOG_LEVEL: 'error' } },
    );
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 30_000);
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const res = await fetch(`${url}/api/v1/events?node=node-a&limit=2`);
      const body = (await res.json()) as { events: { node: string }[]; next: string | null };
      expect(body.events.map((e) => e.node)).toEqual(['node-a', 'node-a']);
      expect(body.next).toMatch(/:node-a:\d+$/);
      const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      expect(await code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('gives rows stored before schema version 2 their search words, and stores NUL safely', async () => {
    await central.store.pool.query(
      "UPDATE records SET words = NULL, tsv = NULL WHERE text LIKE '%orders:pending%'",
    );
    expect(await central.store.count({ text: 'orders pending' })).toBe(0);
    const again = await CentralStore.open(central.dbUrl, { max: 1 });
    await again.close();
    expect(await central.store.count({ text: 'orders pending', actions: ['redis-command'] })).toBe(
      7,
    );
    const [sample] = (await central.store.searchPage({ node: 'node-a', limit: 1 })).rows;
    if (!sample) throw new Error('no record');
    await central.store.transaction((tx) =>
      tx.insertRecords([
        {
          ...sample,
          node: 'nul-test',
          sequence: 0,
          text: 'get a\0b',
          listener: 'nul',
          user: 'x\0y',
        },
      ]),
    );
    const [row] = (await central.store.searchPage({ listener: 'nul', text: 'get a' })).rows;
    expect(row?.text).toBe('get a\uFFFDb');
    expect(await central.store.count({ user: 'x\0y' })).toBe(1);
  });
});
