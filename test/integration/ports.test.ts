/**
 * `ports scan` and `ports drift` against sockets this test opens itself: known ports held by
 * this process (IPv4 and IPv6), a declared target that is down, a target bound beyond
 * loopback, an undeclared listening port, and a listener without owner or purpose.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/index.js';
import { auditDrift, scanListeningSockets, type DriftFinding } from '../../src/inventory/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { formatSockets } from '../../src/cli/commands/ports.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** The CLI from source, without blocking this process's event loop. */
function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { encoding: 'utf8', timeout: 60_000 },
      (error, out, err) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 2) : 0, out, err });
      },
    );
  });
}

function listen(host: string): Promise<net.Server> {
  const server = net.createServer((s) => s.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return a.port;
}

const servers: net.Server[] = [];
let v4: number;
let v6: number;
let wide: number;
let undeclared: number;
let down: number;
let dir: string;

beforeAll(async () => {
  const open = async (host: string): Promise<number> => {
    const s = await listen(host);
    servers.push(s);
    return portOf(s);
  };
  v4 = await open('127.0.0.1');
  v6 = await open('::1');
  wide = await open('0.0.0.0');
  undeclared = await open('127.0.0.1');
  const gone = await listen('127.0.0.1');
  down = portOf(gone);
  await new Promise((r) => gone.close(r));
  dir = mkdtempSync(join(tmpdir(), 'pw-ports-'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

function configText(): string {
  return stringify({
    node: 'ports-test',
    data_dir: join(dir, 'data'),
    api: { enabled: false },
    listeners: [
      {
        name: 'app-db',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${v4}`,
        owner: 'db-team',
        purpose: 'orders',
      },
      {
        name: 'v6-db',
        listen: '127.0.0.1:0',
        target: `[::1]:${v6}`,
        owner: 'db-team',
        purpose: 'ledger',
      },
      {
        name: 'gone-db',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${down}`,
        owner: 'db-team',
        purpose: 'legacy',
      },
      { name: 'wide-api', listen: '127.0.0.1:0', target: `127.0.0.1:${wide}`, owner: 'web' },
    ],
  });
}

describe('ports scan', () => {
  it('finds the IPv4 and IPv6 sockets this test holds, with this pid', async () => {
    const sockets = await scanListeningSockets();
    const mine4 = sockets.find((s) => s.port === v4 && s.ip === '127.0.0.1');
    const mine6 = sockets.find((s) => s.port === v6 && s.ip === '::1');
    expect(mine4).toMatchObject({ family: 'tcp4' });
    expect(mine6).toMatchObject({ family: 'tcp6' });
    expect(mine4?.processes.map((p) => p.pid)).toContain(process.pid);
    expect(mine6?.processes.map((p) => p.pid)).toContain(process.pid);
    expect(mine4?.processes[0]?.exe).toBe(process.execPath);
  });

  it('prints them from the command line (ndjson) and as a table', async () => {
    const nd = await cli(['ports', 'scan', '--format', 'ndjson']);
    expect(nd.code).toBe(0);
    const rows = nd.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { port: number; ip: string; processes: { pid: number }[] });
    expect(
      rows.find((r) => r.port === v6 && r.ip === '::1')?.processes.map((p) => p.pid),
    ).toContain(process.pid);
    const table = formatSockets(await scanListeningSockets(), 'table');
    expect(table).toMatch(new RegExp(`tcp6\\s+\\[::1\\]:${v6}\\s+${process.pid}\\s`));
  });
});

describe('ports drift', () => {
  function has(
    findings: readonly DriftFinding[],
    kind: string,
    port: number,
  ): DriftFinding | undefined {
    return findings.find((f) => f.kind === kind && f.port === port);
  }

  it('reports the undeclared port, the target that is down, the target bound beyond loopback, the undocumented listener', async () => {
    const parsed = parseConfigText(configText());
    if (!parsed.ok) throw new Error('bad config');
    const findings = await auditDrift({
      config: parsed.config,
      sockets: await scanListeningSockets(),
      ownEndpoints: [],
      connectTimeoutMs: 1000,
    });
    expect(has(findings, 'undeclared-listener', undeclared)?.process?.pid).toBe(process.pid);
    expect(has(findings, 'target-not-listening', down)).toMatchObject({
      listener: 'gone-db',
      severity: 'high',
    });
    expect(has(findings, 'target-reachable-directly', wide)).toMatchObject({
      listener: 'wide-api',
      evidence: 'connect-test',
    });
    expect(has(findings, 'listener-undocumented', 0)).toMatchObject({
      listener: 'wide-api',
      missing: ['purpose'],
    });
    // Declared targets are neither blind spots nor drift when loopback-bound and listening.
    for (const port of [v4, v6]) expect(findings.filter((f) => f.port === port)).toEqual([]);
    expect(has(findings, 'undeclared-listener', wide)).toBeUndefined();
  });

  it('exits 1 and records each finding as audit-finding when no gateway holds the data dir', async () => {
    const file = join(dir, 'portwarden.yaml');
    writeFileSync(file, configText());
    const result = await cli([
      '-c',
      file,
      'ports',
      'drift',
      '--format',
      'ndjson',
      '--timeout',
      '1000',
    ]);
    expect(result.code).toBe(1);
    const printed = result.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DriftFinding);
    expect(printed.some((f) => f.kind === 'target-not-listening' && f.port === down)).toBe(true);
    expect(result.err).toContain(`recorded ${printed.length} audit-finding events`);
    const store = new SqliteStore(join(dir, 'data', 'portwarden.db'), { readonly: true });
    try {
      const rows = [...store.iterate(0)];
      expect(rows).toHaveLength(printed.length);
      expect(rows.map((r) => r.sequence)).toEqual(rows.map((_r, i) => i));
      const gone = rows.find((r) => r.action === 'audit-finding' && r.destinationPort === down);
      expect(JSON.parse(gone?.body ?? '{}')).toMatchObject({
        event: { action: 'audit-finding', kind: 'state', outcome: 'failure' },
        finding: { kind: 'target-not-listening', port: down, severity: 'high' },
        listener: { name: 'gone-db' },
      });
      const blind = rows.find((r) => r.destinationPort === undeclared);
      expect(JSON.parse(blind?.body ?? '{}')).toMatchObject({
        finding: { kind: 'undeclared-listener' },
        process: { pid: process.pid, executable: process.execPath },
      });
    } finally {
      store.close();
    }
  });
});
