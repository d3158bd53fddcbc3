/**
 * The crash-safety scenario shared by the CI test (a few kills) and the soak test (many):
 * PostgreSQL INSERTs (each with a unique marker) and Redis INCRs run through a strict
 * gateway child process that is killed with SIGKILL at random moments and restarted. Then
 * the store and the servers are compared: every row PostgreSQL committed has its db-query
 * record, every INCR Redis applied has its redis-command record, sequences are gapless with
 * no duplicate, and `portwarden verify` passes.
 */
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { SqliteStore } from '../../src/store/index.js';
import type { ChildGateway } from './child-gateway.js';
import { childGateway } from './child-gateway.js';

export interface CrashOutcome {
  readonly kills: number;
  readonly pgCommitted: number;
  readonly pgMissing: string[];
  readonly redisApplied: number;
  readonly redisRecorded: number;
  readonly records: number;
  readonly gaps: number[];
  readonly duplicates: number[];
  readonly verifyExit: number | null;
  readonly verifyOutput: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One INSERT per marker over simple-query protocol, reconnecting whenever the gateway dies. */
async function pgLoop(
  port: number,
  table: string,
  prefix: string,
  stop: () => boolean,
): Promise<void> {
  let n = 0;
  while (!stop()) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'test' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      while (!stop()) {
        n++;
        await client.query(`INSERT INTO ${table} (marker) VALUES ('${prefix}-${n}')`);
      }
    } catch {
      await sleep(20);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** INCR over a raw socket, one at a time, reconnecting whenever the gateway dies. */
async function redisLoop(port: number, key: string, stop: () => boolean): Promise<void> {
  const cmd = Buffer.from(`*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`);
  while (!stop()) {
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let buf = '';
      const next = (): void => {
        if (stop()) s.end();
        else s.write(cmd);
      };
      s.on('connect', next);
      s.on('data', (d) => {
        buf += d.toString('latin1');
        while (buf.includes('\r\n')) {
          buf = buf.slice(buf.indexOf('\r\n') + 2);
          next();
        }
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
    if (!stop()) await sleep(20);
  }
}

async function redisGet(key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: 6379 });
    let buf = '';
    s.on('connect', () => s.write(`GET ${key}\r\nDEL ${key}\r\n`));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^\$-?\d+\r\n(?:(\d+)\r\n)?:\d+\r\n/.exec(buf) ?? /^\$-1\r\n:\d+\r\n/.exec(buf);
      if (m) {
        s.end();
        resolve(m[1] === undefined ? 0 : Number(m[1]));
      }
    });
    s.on('error', reject);
  });
}

export async function runCrashScenario(opts: {
  kills: number;
  /** Random time under load before each kill, in ms: [min, max). */
  runMs: [number, number];
  run: (cmd: string, args: readonly string[]) => Promise<string>;
}): Promise<CrashOutcome> {
  const tag = `${process.pid}_${Date.now()}`;
  const table = `pw_crash_${tag}`;
  const key = `pw:crash:${tag}`;
  const admin = new pg.Client({
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    database: 'test',
  });
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (marker text PRIMARY KEY)`);
  let gw: ChildGateway | null = null;
  try {
    gw = await childGateway({
      listeners: [
        { name: 'pg', protocol: 'postgres', target: '127.0.0.1:5432' },
        { name: 'redis', protocol: 'redis', target: '127.0.0.1:6379' },
      ],
    });
    await gw.start();
    let stopping = false;
    const stop = (): boolean => stopping;
    const g = gw;
    const loads = [
      pgLoop(g.port('pg'), table, 'a', stop),
      pgLoop(g.port('pg'), table, 'b', stop),
      redisLoop(g.port('redis'), key, stop),
      redisLoop(g.port('redis'), key, stop),
    ];
    for (let i = 0; i < opts.kills; i++) {
      const [lo, hi] = opts.runMs;
      await sleep(lo + Math.random() * (hi - lo));
      await g.kill9();
      await sleep(50 + Math.random() * 200);
      await g.start();
    }
    await sleep(opts.runMs[0]);
    stopping = true;
    await Promise.all(loads);
    const stopCode = await g.stop();
    if (stopCode !== 0) throw new Error(`gateway stopped with ${stopCode}:\n${g.output()}`);

    const committed = (
      await admin.query<{ marker: string }>(`SELECT marker FROM ${table}`)
    ).rows.map((r) => r.marker);
    const applied = await redisGet(key);
    const store = new SqliteStore(join(g.dataDir, 'portwarden.db'), { readonly: true });
    const recordedMarkers = new Set<string>();
    let redisRecorded = 0;
    const seqs: number[] = [];
    const markerRe = new RegExp(`INSERT INTO ${table} \\(marker\\) VALUES \\('([ab]-\\d+)'\\)`);
    for (const row of store.iterate(0)) {
      seqs.push(row.sequence);
      if (!row.body) continue;
      const body = JSON.parse(row.body) as {
        event?: { action?: string };
        db?: { query?: { text?: string } };
        redis?: { command?: string; key?: string };
      };
      if (body.event?.action === 'db-query') {
        const m = markerRe.exec(body.db?.query?.text ?? '');
        if (m?.[1]) recordedMarkers.add(m[1]);
      } else if (
        body.event?.action === 'redis-command' &&
        body.redis?.command?.toUpperCase() === 'INCR' &&
        body.redis.key === key
      ) {
        redisRecorded++;
      }
    }
    store.close();
    const gaps: number[] = [];
    const duplicates: number[] = [];
    for (let i = 0; i < seqs.length; i++) {
      const s = seqs[i] ?? -1;
      if (s !== i) (s < i ? duplicates : gaps).push(i);
    }
    let verifyExit: number | null = null;
    let verifyOutput = '';
    try {
      verifyOutput = await opts.run(process.execPath, [
        join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js'),
        'verify',
        '-c',
        g.configFile,
      ]);
      verifyExit = 0;
    } catch (err) {
      verifyOutput = err instanceof Error ? err.message : String(err);
      verifyExit = 1;
    }
    return {
      kills: opts.kills,
      pgCommitted: committed.length,
      pgMissing: committed.filter((m) => !recordedMarkers.has(m)),
      redisApplied: applied,
      redisRecorded,
      records: seqs.length,
      gaps,
      duplicates,
      verifyExit,
      verifyOutput,
    };
  } finally {
    await gw?.kill9();
    await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await admin.end();
  }
}
