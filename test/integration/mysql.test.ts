import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerProtocol } from '../../src/protocols/index.js';
import { createMysqlSession } from '../../src/protocols/mysql/index.js';
import { byAction, startGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

function mariadb(port: number, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '--skip-ssl', 'test', '-e', sql]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  registerProtocol('mysql', createMysqlSession);
  gw = await startGateway({ listeners: [{ name: 'my', listen: '127.0.0.1:0', target: '127.0.0.1:3306', protocol: 'mysql' }] });
});
afterAll(async () => {
  await gw.stop();
});

describe('smoke', () => {
  it('runs', async () => {
    const r = await mariadb(gw.port('my'), 'select 1; select 2 union select 3; do 1');
    console.log(r);
    const evs = await gw.waitForEvents((e) => byAction(e, 'connection-close').length === 1);
    for (const e of evs) console.log(JSON.stringify(e));
    expect(r.code).toBe(0);
  });
});
