/**
 * Store-fault scenarios shared by the disk-full (tmpfs) and unwritable (chattr +i on ext4)
 * evidence tests. A strict gateway with a `postgres`, `mysql`, `redis` and `http` listener
 * runs with its data dir on the small filesystem; `fault()` makes the store refuse commits,
 * `heal()` undoes it.
 *
 * - `refuse` (the default `on_store_failure`): actions on open connections and new
 *   connections get their protocol's native refusal from real clients' point of view (pg and
 *   psql, mysql2, a raw RESP socket and redis-cli, a keep-alive HTTP agent and curl); the
 *   action whose record was being committed when the store failed is held, not refused;
 *   everything is served again by itself once the store accepts records.
 * - `block`: the open connection's next command is held, a new connection is closed without
 *   an answer, and the held command is answered by itself after the fault.
 *
 * Both check that every accepted action has its record, each refusal is recorded with
 * reason `store-unavailable`, and sequences are gapless.
 */
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { pino } from 'pino';
import { expect } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { byAction, field, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { runToExit } from '../helpers/run.js';
import { until } from './flood-scenarios.js';

const HOST = '127.0.0.1';

export interface FaultGateway {
  readonly gw: TestGateway;
  /** Everything the gateway logged so far. */
  log(): string;
  /** Stop the gateway (if still running) and the HTTP target. */
  close(): Promise<void>;
}

/** A gateway with the four protocols' listeners, its data dir in `dataDir`, logging to memory. */
export async function startFaultGateway(
  dataDir: string,
  mode: 'refuse' | 'block',
): Promise<FaultGateway> {
  let logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString('utf8');
      cb();
    },
  });
  const web = http.createServer((req, res) => res.end(`ok ${req.url ?? ''}`));
  await new Promise<void>((resolve) => web.listen(0, HOST, resolve));
  const webPort = (web.address() as net.AddressInfo).port;
  const listener = (name: string, target: string, protocol: string): Record<string, unknown> => ({
    name,
    listen: `${HOST}:0`,
    target,
    protocol,
  });
  const gw = await startGateway({
    listeners: [
      listener('pg', `${HOST}:5432`, 'postgres'),
      listener('my', `${HOST}:3306`, 'mysql'),
      listener('cache', `${HOST}:6379`, 'redis'),
      listener('web', `${HOST}:${webPort}`, 'http'),
    ],
    // Only the block case names its mode: refuse is the default.
    ...(mode === 'block' ? { audit: { on_store_failure: 'block' } } : {}),
    extra: { data_dir: dataDir },
    gatewayOptions: { log: pino({ level: 'info' }, sink) },
  });
  return {
    gw,
    log: () => logText,
    async close() {
      await gw.stop();
      web.closeAllConnections();
      await new Promise((resolve) => web.close(resolve));
    },
  };
}

interface RedisClient {
  readonly sock: net.Socket;
  /** Reply lines so far. */
  replies(): number;
  /** Everything received. */
  text(): string;
  ping(): void;
  closed(): boolean;
}

function redisClient(port: number): Promise<RedisClient> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let text = '';
    let closed = false;
    sock.on('data', (d: Buffer) => (text += d.toString('utf8')));
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined);
    sock.once('error', reject);
    sock.once('connect', () =>
      resolve({
        sock,
        replies: () => text.split('\r\n').length - 1,
        text: () => text,
        ping: () => sock.write('PING\r\n'),
        closed: () => closed,
      }),
    );
  });
}

/** Connect, send a PING: served (any answer) or refused (closed without one). */
async function tryPing(port: number): Promise<'served' | 'refused'> {
  const c = await redisClient(port);
  c.ping();
  await until('an answer or a close', () => c.replies() > 0 || c.closed(), 10_000);
  const served = c.replies() > 0;
  c.sock.destroy();
  return served ? 'served' : 'refused';
}

/**
 * Send PINGs on `a`, one at a time, until a commit fails: that PING's record is in the
 * failed batch, so it is held (accepted, waiting), never refused. Returns how many were sent.
 */
async function pingUntilTheStoreFails(g: TestGateway, a: RedisClient): Promise<number> {
  let sent = 1;
  await until(
    'the store to refuse a commit',
    () => {
      if (!g.gateway.recorder.isHealthy()) return true;
      if (a.replies() === sent) {
        a.ping();
        sent++;
      }
      return false;
    },
    30_000,
  );
  return sent;
}

/** Every committed record once each accepted connection's close is recorded. */
async function settledEvents(g: TestGateway): Promise<JsonObject[]> {
  return g.waitForEvents((evs) => {
    const opened = byAction(evs, 'connection-open').filter(
      (e) => field(e, 'event.outcome') === 'success',
    ).length;
    return opened > 0 && byAction(evs, 'connection-close').length === opened;
  }, 20_000);
}

function expectGapless(events: readonly JsonObject[]): void {
  const seqs = events.map((e) => Number(field(e, 'event.sequence')));
  expect(seqs).toEqual(seqs.map((_, i) => i));
}

const onListener =
  (name: string) =>
  (e: JsonObject): boolean =>
    field(e, 'listener.name') === name;

/** `on_store_failure: block`: the open connection is held, a new one closed; both resume. */
export async function blockScenario(
  f: FaultGateway,
  fault: () => Promise<void> | void,
  heal: () => Promise<void> | void,
  expectLog: RegExp,
): Promise<void> {
  const g = f.gw;
  const port = g.port('cache');
  const a = await redisClient(port);
  a.ping();
  await until('first PING answered', () => a.replies() === 1);
  await until('every record committed', () => !g.gateway.recorder.mustWait());

  await fault();
  const sent = await pingUntilTheStoreFails(g, a);
  const answeredAtFault = a.replies();
  expect(await tryPing(port)).toBe('refused');
  expect(a.replies()).toBe(answeredAtFault);
  expect(a.closed()).toBe(false);
  expect(f.log()).toMatch(expectLog);
  expect(f.log()).toMatch(/AUDIT STORE UNAVAILABLE: new connections are refused \(closed\)/);

  await heal();
  await until('the store to accept again', () => g.gateway.recorder.isHealthy(), 20_000);
  await until('held PINGs answered', () => a.replies() === sent, 10_000);
  expect(await tryPing(port)).toBe('served');
  a.sock.destroy();

  const events = await settledEvents(g);
  const refused = byAction(events, 'connection-open').filter(
    (e) => field(e, 'event.reason') === 'store-unavailable',
  );
  expect(refused).toHaveLength(1);
  const pings = byAction(events, 'redis-command').filter(
    (e) => field(e, 'redis.command') === 'ping',
  );
  expect(pings.length).toBe(sent + 1);
  expect(pings.every((e) => field(e, 'event.outcome') !== 'failure')).toBe(true);
  expectGapless(events);
}

interface HttpAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

function get(agent: http.Agent, port: number, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          body,
        }),
      );
    });
    req.on('error', reject);
  });
}

function pgClient(port: number): pg.Client {
  const client = new pg.Client({ host: HOST, port, user: 'postgres', database: 'test' });
  // A failed test stops the gateway under it: that is no second failure.
  client.on('error', () => undefined);
  return client;
}

function mysqlConnection(port: number): Promise<mysql.Connection> {
  return mysql.createConnection({ host: HOST, port, user: 'root', database: 'test' });
}

const psqlArgs = (port: number, sql: string): string[] => [
  '-X',
  '-At',
  '-h',
  HOST,
  '-p',
  String(port),
  '-U',
  'postgres',
  '-d',
  'test',
  '-c',
  sql,
];

/**
 * `on_store_failure: refuse`: native refusals for actions and new connections through real
 * clients while the store fails; everything served again by itself once it heals.
 */
export async function refuseScenario(
  f: FaultGateway,
  fault: () => Promise<void> | void,
  heal: () => Promise<void> | void,
  expectLog: RegExp,
): Promise<void> {
  const g = f.gw;
  const pgPort = g.port('pg');
  const myPort = g.port('my');
  const cachePort = g.port('cache');
  const webPort = g.port('web');

  // Connections open before the fault.
  const a = await redisClient(cachePort);
  a.ping();
  await until('first PING answered', () => a.replies() === 1);
  const r = await redisClient(cachePort);
  r.ping();
  await until('PING answered', () => r.replies() === 1);
  const p = pgClient(pgPort);
  await p.connect();
  await p.query("select 'pw-sf-before'");
  const m = await mysqlConnection(myPort);
  await m.query("SELECT 'pw-sf-before'");
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  expect((await get(agent, webPort, '/before')).status).toBe(200);
  // Nothing left to commit: the first commit to fail is the one of a's next PING.
  await until('every record committed', () => !g.gateway.recorder.mustWait());

  await fault();
  const sent = await pingUntilTheStoreFails(g, a);
  const answeredAtFault = a.replies();

  // Actions on open connections: refused natively, the connection stays usable.
  r.ping();
  await until('the refused PING answered', () => r.replies() === 2);
  expect(r.text()).toMatch(
    /\r\n-ERR audit store unavailable: portwarden could not record 'ping', so it was not run; retry later\r\n$/,
  );
  await expect(p.query("select 'pw-sf-during'")).rejects.toMatchObject({
    code: '53100',
    message: expect.stringMatching(/audit store is unavailable/) as unknown,
  });
  // Extended protocol: Parse/Bind/Describe pass, the Execute is refused in its place.
  await expect(p.query('select $1::text', ['pw-sf-during-x'])).rejects.toMatchObject({
    code: '53100',
  });
  await expect(m.query("SELECT 'pw-sf-during'")).rejects.toMatchObject({
    errno: 1021,
    sqlState: 'HY000',
  });
  // A prepared statement: COM_STMT_PREPARE passes, the COM_STMT_EXECUTE is refused.
  await expect(m.execute('SELECT ?', ['pw-sf-during-x'])).rejects.toMatchObject({ errno: 1021 });
  const during = await get(agent, webPort, '/during');
  expect(during).toMatchObject({ status: 503, retryAfter: '5' });
  expect(JSON.parse(during.body)).toMatchObject({ reason: 'store-unavailable' });

  // New connections: the protocol's own refusal, then the close.
  const np = pgClient(pgPort);
  await expect(np.connect()).rejects.toMatchObject({ code: '57P03' });
  const psql = await runToExit('psql', psqlArgs(pgPort, 'select 1'));
  expect(psql.code).not.toBe(0);
  expect(psql.stderr).toMatch(/FATAL:\s+portwarden: the audit store is unavailable/);
  await expect(mysqlConnection(myPort)).rejects.toMatchObject({ errno: 1040 });
  const cli = await runToExit('redis-cli', ['-h', HOST, '-p', String(cachePort), 'PING']);
  expect(cli.stdout + cli.stderr).toMatch(/ERR audit store unavailable: portwarden refuses new/);
  const curl = await runToExit('curl', ['-s', '-i', `http://${HOST}:${webPort}/new`]);
  expect(curl.stdout).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
  expect(curl.stdout).toMatch(/\r\nRetry-After: 5\r\n/);

  // The PING whose record was in the failed commit was accepted: held, not refused.
  expect(a.replies()).toBe(answeredAtFault);
  expect(a.closed()).toBe(false);
  expect(f.log()).toMatch(expectLog);
  expect(f.log()).toMatch(
    /AUDIT STORE UNAVAILABLE: new connections are refused with their protocol's native error and, in strict mode, so are actions on open connections/,
  );

  await heal();
  await until('the store to accept again', () => g.gateway.recorder.isHealthy(), 20_000);
  await until('held PINGs answered', () => a.replies() === sent, 10_000);
  expect(a.text()).not.toMatch(/-ERR/);
  expect(f.log()).toMatch(/audit store accepts records again/);

  // Everything served again, on the open connections and on new ones.
  r.ping();
  await until('PING answered after the fault', () => r.replies() === 3);
  expect(r.text()).toMatch(/\+PONG\r\n$/);
  expect((await p.query("select 'pw-sf-after' as v")).rows).toEqual([{ v: 'pw-sf-after' }]);
  expect((await p.query('select $1::text as v', ['pw-sf-after-x'])).rows).toEqual([
    { v: 'pw-sf-after-x' },
  ]);
  await m.query("SELECT 'pw-sf-after'");
  const [rows] = await m.execute('SELECT ? AS v', ['pw-sf-after-x']);
  expect(rows).toEqual([{ v: 'pw-sf-after-x' }]);
  expect((await get(agent, webPort, '/after')).status).toBe(200);
  expect((await runToExit('psql', psqlArgs(pgPort, 'select 42'))).stdout).toBe('42\n');
  const m2 = await mysqlConnection(myPort);
  await m2.query('SELECT 1');
  await m2.end();
  expect((await runToExit('redis-cli', ['-h', HOST, '-p', String(cachePort), 'PING'])).stdout).toBe(
    'PONG\n',
  );
  const curlAfter = await runToExit('curl', ['-s', `http://${HOST}:${webPort}/new-after`]);
  expect(curlAfter.stdout).toBe('ok /new-after');

  a.sock.destroy();
  r.sock.destroy();
  await p.end();
  await m.end();
  agent.destroy();

  const events = await settledEvents(g);
  expectGapless(events);
  // Each protocol's refused new connections are recorded, with the reason.
  const refusedOpens = byAction(events, 'connection-open').filter(
    (e) => field(e, 'event.reason') === 'store-unavailable',
  );
  for (const name of ['pg', 'my', 'cache', 'web'])
    expect(refusedOpens.filter(onListener(name)).length).toBeGreaterThanOrEqual(1);
  // Refused actions: recorded as denied with reason store-unavailable, and never run.
  const refused = (action: string): JsonObject[] =>
    byAction(events, action).filter((e) => field(e, 'event.reason') === 'store-unavailable');
  for (const e of [
    ...refused('db-query'),
    ...refused('redis-command'),
    ...refused('http-request'),
  ]) {
    expect(field(e, 'event.type')).toEqual(['access', 'denied']);
    expect(field(e, 'event.outcome')).toBe('failure');
  }
  const texts = (name: string, reason?: string): string[] =>
    byAction(events, 'db-query')
      .filter(onListener(name))
      .filter((e) => reason === undefined || field(e, 'event.reason') === reason)
      .map((e) => String(field(e, 'db.query.text')));
  expect(texts('pg', 'store-unavailable')).toEqual(["select 'pw-sf-during'", 'select $1::text']);
  expect(texts('my', 'store-unavailable')).toEqual(["SELECT 'pw-sf-during'", 'SELECT ?']);
  expect(refused('redis-command').map((e) => field(e, 'redis.command'))).toEqual(['ping']);
  expect(refused('http-request').map((e) => field(e, 'url.path'))).toEqual(['/during']);
  // Every accepted action has its record: the statements before and after, and every PING
  // of the connection whose PING was held.
  expect(texts('pg')).toEqual(
    expect.arrayContaining([
      "select 'pw-sf-before'",
      "select 'pw-sf-after' as v",
      'select $1::text as v',
      'select 42',
    ]),
  );
  expect(texts('my')).toEqual(
    expect.arrayContaining(["SELECT 'pw-sf-before'", "SELECT 'pw-sf-after'", 'SELECT ? AS v']),
  );
  // `a` connected first: the first redis-command is its first PING.
  const aConnection = field(byAction(events, 'redis-command')[0] ?? {}, 'connection.id');
  const pingsOnA = byAction(events, 'redis-command').filter(
    (e) => field(e, 'connection.id') === aConnection,
  );
  expect(pingsOnA).toHaveLength(sent);
  expect(pingsOnA.every((e) => field(e, 'event.reason') !== 'store-unavailable')).toBe(true);
  const httpPaths = byAction(events, 'http-request').map((e) => field(e, 'url.path'));
  expect(httpPaths).toEqual(expect.arrayContaining(['/before', '/during', '/after', '/new-after']));
}
