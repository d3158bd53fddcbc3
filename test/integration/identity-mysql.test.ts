/**
 * MySQL with listener `auth: gateway`: the gateway sign-in is not built for MySQL yet, so the
 * listener fails closed — the real mariadb client gets ERR 1251 instead of a greeting, the
 * refusal is recorded, and no login (the client's own or any other) reaches the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({
    listeners: [
      {
        name: 'my',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:3306',
        protocol: 'mysql',
        auth: 'gateway',
      },
    ],
  });
});

afterAll(async () => {
  await gw.stop();
});

describe('mysql auth: gateway', () => {
  it('refuses natively (ERR 1251) rather than relaying the client login, and records it', async () => {
    const err = await run('mariadb', [
      '-h',
      '127.0.0.1',
      '-P',
      String(gw.port('my')),
      '-u',
      'root',
      'test',
      '-e',
      'select current_user()',
    ]).then(
      () => null,
      (e: unknown) => String(e),
    );
    expect(err).toMatch(/1251/);
    expect(err).toMatch(/auth: gateway is not available for MySQL/);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((x) => field(x, 'listener.name') === 'my'),
    );
    const login = byAction(evs, 'db-login')[0] as JsonObject;
    expect(field(login, 'event.outcome')).toBe('failure');
    expect(field(login, 'db.response.error_number')).toBe(1251);
    expect(byAction(evs, 'db-query')).toEqual([]);
  });
});
