/**
 * Ingest into a node's Merkle log: each fixture appended through the CLI (`portwarden
 * ingest FORMAT -` on stdin), then the log verifies end to end, the events are found by
 * the store's filters next to gateway records, and a data dir held by a live gateway is
 * refused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/audit/integrity.js';
import { readNodeKey, storeLogSource } from '../../src/audit/store-log.js';
import { SqliteStore } from '../../src/store/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/ingest');
let dataDir = '';

function cli(
  args: readonly string[],
  stdin: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args],
      {
        cwd: ROOT,
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 2, out, err }));
    child.stdin.end(stdin);
  });
}

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'pw-ingest-'));
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('portwarden ingest', () => {
  it('appends each format, reports malformed lines, and the log verifies', async () => {
    const runs = [
      ['conntrack', 'conntrack.log', 5, 3],
      ['auditd', 'auditd.log', 3, 3],
      ['k8s-audit', 'k8s-audit.jsonl', 3, 4],
    ] as const;
    for (const [format, file, ingested, malformed] of runs) {
      const r = await cli(
        ['--data-dir', dataDir, 'ingest', format, '-', '--node', 'edge-1'],
        readFileSync(join(FIXTURES, file), 'utf8'),
      );
      expect(r.err).toMatch(/^line \d+: /m);
      expect(r.out).toContain(`ingested ${ingested} events`);
      expect(r.out).toContain(`${malformed} malformed`);
      expect(r.code).toBe(0);
    }
    const store = new SqliteStore(join(dataDir, 'portwarden.db'), { readonly: true });
    try {
      const key = readNodeKey(dataDir);
      const source = storeLogSource(store);
      const result = verifyLog(source, { verifierKeys: [key.verifierKey], origin: 'edge-1' });
      source.release();
      // 11 events and one checkpoint record per run.
      expect(result).toMatchObject({ ok: true, size: 14, checkpoints: 3 });
      // Host traffic is found with the same filters as gateway traffic.
      const to5432 = store.search({ port: 5432, order: 'oldest' }).rows.map((r) => r.action);
      expect(to5432).toEqual([
        'ingest-conntrack-new',
        'ingest-conntrack-update',
        'ingest-conntrack-destroy',
        'ingest-kubernetes-portforward',
      ]);
      const pf = store.search({ actions: ['ingest-kubernetes-portforward'] }).rows[0];
      expect(pf).toMatchObject({
        sourceIp: '10.0.0.12',
        user: 'alice@example.com',
        node: 'edge-1',
      });
      const body = JSON.parse(pf?.body ?? '{}') as { event: { module: string } };
      expect(body.event.module).toBe('kubernetes');
    } finally {
      store.close();
    }
  }, 60_000);

  it('refuses a data dir a live gateway holds', async () => {
    writeFileSync(join(dataDir, 'gateway.lock'), `${process.pid}\n`);
    try {
      const r = await cli(
        ['--data-dir', dataDir, 'ingest', 'conntrack', '-', '--node', 'edge-1'],
        '',
      );
      expect(r.code).toBe(2);
      expect(r.err).toContain(`a gateway (pid ${process.pid}) is writing`);
    } finally {
      rmSync(join(dataDir, 'gateway.lock'));
    }
  }, 30_000);
});
