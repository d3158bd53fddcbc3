/**
 * Local process conditions through the real gateway: the policy allows only the psql binary.
 * psql (a child process) connects and runs a query; a node-postgres client (this very node
 * process, a different executable) is refused at accept and the refusal names its process.
 * A listener whose policy has no process condition never looks the client up.
 */
import { realpathSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({
    listeners: [
      {
        name: 'tools-only',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        policy: 'psql-only',
      },
      {
        name: 'by-source',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        policy: 'local',
      },
    ],
    policies: {
      'psql-only': {
        rules: [
          {
            id: 'psql-binary',
            allow: {
              process: { exe: ['/usr/lib/postgresql/*/bin/psql'], uid: [process.getuid?.() ?? 0] },
            },
          },
        ],
      },
      local: { rules: [{ id: 'loopback', allow: { sources: ['127.0.0.0/8'] } }] },
    },
  });
}, 30_000);

afterAll(async () => {
  await gw?.stop();
});

const opens = (evs: readonly JsonObject[], listener: string): JsonObject[] =>
  byAction(evs, 'connection-open').filter((e) => field(e, 'listener.name') === listener);

describe('process conditions', () => {
  it('psql is allowed; the same server from another executable is refused at accept', async () => {
    const port = String(gw.port('tools-only'));
    const out = await run('psql', [
      '-X',
      '-At',
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-U',
      'postgres',
      '-d',
      'test',
      '-c',
      'select 40 + 2',
    ]);
    expect(out).toBe('42\n');

    const other = new pg.Client({
      host: '127.0.0.1',
      port: Number(port),
      user: 'postgres',
      database: 'test',
    });
    other.on('error', () => undefined);
    await expect(other.connect()).rejects.toThrow();

    const evs = await gw.waitForEvents((e) => opens(e, 'tools-only').length >= 2);
    const [allowed, refused] = opens(evs, 'tools-only');
    expect(field(allowed ?? {}, 'event.outcome')).toBe('success');
    expect(field(allowed ?? {}, 'rule.id')).toBe('psql-binary');
    expect(field(allowed ?? {}, 'process.executable')).toMatch(
      /^\/usr\/lib\/postgresql\/\d+\/bin\/psql$/,
    );
    expect(field(allowed ?? {}, 'process.user.id')).toBe(process.getuid?.());

    expect(field(refused ?? {}, 'event.outcome')).toBe('failure');
    expect(field(refused ?? {}, 'event.reason')).toBe('policy');
    expect(field(refused ?? {}, 'process.pid')).toBe(process.pid);
    expect(field(refused ?? {}, 'process.executable')).toBe(realpathSync(process.execPath));
    // The allowed session's statements carry the process too.
    const query = byAction(evs, 'db-query').find(
      (q) => field(q, 'connection.id') === field(allowed ?? {}, 'connection.id'),
    );
    expect(field(query ?? {}, 'process.executable')).toBe(
      field(allowed ?? {}, 'process.executable'),
    );
  });

  it('a policy without process conditions does not look the client up', async () => {
    const c = new pg.Client({
      host: '127.0.0.1',
      port: gw.port('by-source'),
      user: 'postgres',
      database: 'test',
    });
    await c.connect();
    await c.query('select 1');
    await c.end();
    const evs = await gw.waitForEvents((e) => opens(e, 'by-source').length >= 1);
    const open = opens(evs, 'by-source')[0] ?? {};
    expect(field(open, 'event.outcome')).toBe('success');
    expect(field(open, 'process')).toBeUndefined();
  });
});
