/**
 * Rows read through a server-side cursor, through the real gateway to the local MariaDB:
 * mysql2 and the mariadb CLI never open cursors, so the binary protocol is driven over a raw
 * socket — login, COM_STMT_PREPARE, COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY, then
 * COM_STMT_FETCH until the last row — with and without CLIENT_DEPRECATE_EOF. Each fetch is
 * recorded as its own db-query/db-result with the rows it returned; their sum is the table.
 */
import { connect, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { compilePolicies } from '../../src/policy/index.js';
import { registerProtocol } from '../../src/protocols/index.js';
import { createMysqlSession } from '../../src/protocols/mysql/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import {
  CAP,
  CLIENT_CAPS,
  command,
  comPrepare,
  handshakeResponse41,
  int1,
  int4,
  packet,
} from '../helpers/mysql-builder.js';
import { until } from '../helpers/wait.js';

const TABLE = `pw_cursor_${process.pid}`;
const SECRET = `pw_cursor_secret_${process.pid}`;
const ROWS = 7;
const SERVER_STATUS_CURSOR_EXISTS = 0x0040;
const SERVER_STATUS_LAST_ROW_SENT = 0x0080;
let gw: TestGateway;
let admin: mysql.Connection;

/** A raw MySQL protocol client: whole packets in, bytes out. */
class RawClient {
  private buffered = Buffer.alloc(0);
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.buffered = Buffer.concat([this.buffered, d])));
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  async packet(): Promise<{ seq: number; payload: Buffer }> {
    await until(
      () => this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readUIntLE(0, 3),
      10_000,
      'a whole packet',
    );
    const length = this.buffered.readUIntLE(0, 3);
    const seq = this.buffered[3] ?? 0;
    const payload = this.buffered.subarray(4, 4 + length);
    this.buffered = this.buffered.subarray(4 + length);
    return { seq, payload };
  }

  /** Packets until one starting 0xFE (EOF, or OK with an EOF header) or 0xFF (ERR). */
  async untilTerminator(): Promise<{ packets: Buffer[]; last: Buffer }> {
    const packets: Buffer[] = [];
    for (;;) {
      const { payload } = await this.packet();
      if ((payload[0] === 0xfe && payload.length < 0xffffff) || payload[0] === 0xff) {
        return { packets, last: payload };
      }
      packets.push(payload);
    }
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.end(command(0x01));
  }
}

/**
 * Status flags of a terminator: at offset 3 in an EOF packet (header, warnings, status) and
 * in an OK packet with an EOF header here (header, affected rows and last insert id of one
 * byte each, status).
 */
function statusOf(terminator: Buffer): number {
  return terminator.readUInt16LE(3);
}

/** Logs in as root, prepares `sql`, opens a cursor on it; returns the client and statement id. */
async function openCursor(
  deprecateEof: boolean,
  sql: string,
): Promise<{ client: RawClient; id: number }> {
  const client = await RawClient.open(gw.port('db'));
  await client.packet(); // greeting
  const capabilities = (CLIENT_CAPS & ~CAP.CONNECT_ATTRS) | (deprecateEof ? CAP.DEPRECATE_EOF : 0);
  client.send(
    packet(
      1,
      handshakeResponse41({
        capabilities,
        user: 'root',
        database: 'test',
        authResponse: Buffer.alloc(0),
      }),
    ),
  );
  const login = await client.packet();
  expect(login.payload[0]).toBe(0x00);
  client.send(comPrepare(sql));
  const prepareOk = await client.packet();
  expect(prepareOk.payload[0]).toBe(0x00);
  const id = prepareOk.payload.readUInt32LE(1);
  const columns = prepareOk.payload.readUInt16LE(5);
  for (let i = 0; i < columns; i++) await client.packet();
  if (!deprecateEof) await client.packet(); // EOF after the column definitions
  // COM_STMT_EXECUTE: statement, flags CURSOR_TYPE_READ_ONLY, iteration count 1.
  client.send(command(0x17, Buffer.concat([int4(id), int1(0x01), int4(1)])));
  const count = await client.packet();
  expect(count.payload[0]).toBe(columns);
  const metadata = await client.untilTerminator();
  expect(metadata.packets).toHaveLength(columns);
  expect(statusOf(metadata.last) & SERVER_STATUS_CURSOR_EXISTS).not.toBe(0);
  return { client, id };
}

/** Fetches `per` rows at a time until the server says the last row was sent. */
async function fetchAll(client: RawClient, id: number, per: number): Promise<number[]> {
  const counts: number[] = [];
  for (;;) {
    client.send(command(0x1c, Buffer.concat([int4(id), int4(per)])));
    const { packets, last } = await client.untilTerminator();
    expect(last[0]).toBe(0xfe);
    counts.push(packets.length);
    if (statusOf(last) & SERVER_STATUS_LAST_ROW_SENT) return counts;
  }
}

/** db-query / db-result records of the connection whose queries mention `text`, once closed. */
async function recordsOf(text: string): Promise<{ queries: JsonObject[]; results: JsonObject[] }> {
  const connOf = (evs: readonly JsonObject[]): unknown =>
    field(
      byAction(evs, 'db-query').find((q) => String(field(q, 'db.query.text')).includes(text)) ?? {},
      'connection.id',
    );
  const evs = await gw.waitForEvents((e) => {
    const conn = connOf(e);
    return (
      conn !== undefined &&
      byAction(e, 'connection-close').some((c) => field(c, 'connection.id') === conn)
    );
  });
  const all = evs.filter((e) => field(e, 'connection.id') === connOf(evs));
  return { queries: byAction(all, 'db-query'), results: byAction(all, 'db-result') };
}

beforeAll(async () => {
  registerProtocol('mysql', createMysqlSession);
  const policies = {
    db: {
      default: 'allow',
      rules: [{ id: 'no-secret', deny: { sql: { tables: [SECRET] } } }],
    },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  gw = await startGateway({
    listeners: [
      {
        name: 'db',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:3306',
        protocol: 'mysql',
        policy: 'db',
      },
    ],
    policies,
    gatewayOptions: { policies: compiled.policies },
  });
  admin = await mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    database: 'test',
  });
  await admin.query(`drop table if exists ${TABLE}`);
  await admin.query(`create table ${TABLE} (id int primary key, note varchar(20))`);
  const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, 'n${i + 1}')`).join(', ');
  await admin.query(`insert into ${TABLE} values ${values}`);
});

afterAll(async () => {
  await admin.query(`drop table if exists ${TABLE}`);
  await admin.end();
  await gw.stop();
});

describe('mysql: rows read through a cursor (COM_STMT_FETCH)', () => {
  it.each([
    ['with EOF packets', false],
    ['with CLIENT_DEPRECATE_EOF', true],
  ])('%s: each fetch recorded with its rows, summing to the table', async (_name, deprecateEof) => {
    const marker = deprecateEof ? 'deprecate' : 'eof';
    const sql = `select id, note from ${TABLE} where '${marker}' = '${marker}' order by id`;
    const { client, id } = await openCursor(deprecateEof, sql);
    const counts = await fetchAll(client, id, 3);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ROWS);
    client.close();

    const { queries, results } = await recordsOf(`'${marker}' = '${marker}'`);
    // One execute, one record per fetch; each result answers its query.
    expect(queries).toHaveLength(1 + counts.length);
    expect(results.map((r) => field(r, 'event.reference'))).toEqual(
      queries.map((q) => field(q, 'event.id')),
    );
    const executeId = field(queries[0] ?? {}, 'event.id');
    for (const q of queries.slice(1)) {
      expect(field(q, 'db.operation')).toBe('SELECT');
      expect(field(q, 'db.query.class')).toBe('read');
      expect(field(q, 'db.query.fetch')).toEqual({ rows_requested: 3, execute_id: executeId });
    }
    expect(field(results[0] ?? {}, 'db.response.cursor_opened')).toBe(true);
    expect(field(results[0] ?? {}, 'db.response.returned_rows')).toBe(0);
    const fetched = results.slice(1).map((r) => field(r, 'db.response.returned_rows'));
    expect(fetched).toEqual(counts);
    expect(results.every((r) => field(r, 'event.outcome') === 'success')).toBe(true);
  });

  it('a fetch is decided like its statement: denied by a table rule, ERR 1142, session goes on', async () => {
    await admin.query(`create table if not exists ${SECRET} (id int)`);
    try {
      // A fetch is asked of policy with its statement's facts: fetching by the id of a
      // statement on the denied table is refused as its execute would be.
      const { client, id } = await openCursor(
        false,
        `select id from ${TABLE} where 'deny' = 'deny'`,
      );
      client.send(comPrepare(`select id from ${SECRET}`));
      const prepared = await client.packet();
      const secretId = prepared.payload.readUInt32LE(1);
      for (let i = 0; i < prepared.payload.readUInt16LE(5) + 1; i++) await client.packet();
      client.send(command(0x1c, Buffer.concat([int4(secretId), int4(1)])));
      const denied = await client.packet();
      expect(denied.payload[0]).toBe(0xff);
      expect(denied.payload.readUInt16LE(1)).toBe(1142);
      // The session goes on: the allowed cursor still fetches.
      const counts = await fetchAll(client, id, 100);
      expect(counts).toEqual([ROWS]);
      client.close();
      const { queries } = await recordsOf(`'deny' = 'deny'`);
      const deniedQuery = queries.find((q) => field(q, 'rule.id') === 'no-secret');
      expect(field(deniedQuery ?? {}, 'db.query.fetch')).toEqual({ rows_requested: 1 });
      expect(field(deniedQuery ?? {}, 'event.type')).toEqual(['access', 'denied']);
    } finally {
      await admin.query(`drop table if exists ${SECRET}`);
    }
  });
});
