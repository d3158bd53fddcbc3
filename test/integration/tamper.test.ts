/**
 * Tampering with the SQLite file directly, one case per kind: `portwarden verify` exits 1 and
 * names the first affected sequence; the untouched log verifies (exit 0).
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { createHash, generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatSignerKey,
  makeSignedCheckpoint,
  parseSignerKey,
} from '../../src/audit/integrity.js';
import { startGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/cli.js';

let pristine: string;
let size = 0;
let checkpointSize = 0;

beforeAll(async () => {
  const gw = await startGateway({
    listeners: [{ name: 'r', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' }],
  });
  for (let i = 0; i < 4; i++) {
    const s = net.connect(gw.port('r'), '127.0.0.1');
    await new Promise((r) => s.on('connect', r));
    s.write(`SET tamper:${i} v\r\nGET tamper:${i}\r\n`);
    await new Promise<void>((resolve) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('+OK') && got.includes('$1')) resolve();
      });
    });
    s.end();
  }
  await gw.waitForEvents(
    (e) =>
      e.filter((x) => (x.event as { action: string }).action === 'connection-close').length === 4,
  );
  await gw.gateway.stop(500);
  gw.gateway.closeStore();
  pristine = mkdtempSync(join(tmpdir(), 'pw-tamper-'));
  cpSync(gw.dataDir, pristine, { recursive: true });
  const db = new Database(join(pristine, 'portwarden.db'), { readonly: true });
  size = Number((db.prepare('SELECT COUNT(*) AS n FROM log_v3').get() as { n: number }).n);
  checkpointSize = Number(
    (db.prepare('SELECT MAX(size) AS s FROM checkpoints_v1').get() as { s: number }).s,
  );
  db.close();
  await gw.stop();
}, 60_000);

/** A copy of the pristine data dir, edited by `edit`. */
function tampered(edit: (db: Database.Database) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-tamper-case-'));
  cpSync(pristine, dir, { recursive: true });
  const db = new Database(join(dir, 'portwarden.db'));
  edit(db);
  db.close();
  return dir;
}

function leaf(body: string): Buffer {
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(body)
    .digest();
}

async function verify(dir: string): Promise<{ code: number; out: string }> {
  return runCli(['verify', '--data-dir', dir]);
}

describe('verify finds and names tampering', () => {
  it('passes on the untouched log', async () => {
    expect(size).toBeGreaterThan(10);
    expect(checkpointSize).toBeGreaterThan(10);
    const r = await verify(pristine);
    expect(r.out).toMatch(/^ok: \d+ records and \d+ signed checkpoints verified/);
    expect(r.code).toBe(0);
  });

  it('an edited record body', async () => {
    const dir = tampered((db) =>
      db
        .prepare(
          "UPDATE log_v3 SET body = replace(body, 'tamper:2', 'tamper:9') WHERE seq = (SELECT MIN(seq) FROM log_v3 WHERE body LIKE '%tamper:2%')",
        )
        .run(),
    );
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/TAMPERED: edited at sequence \d+/);
  });

  it('an edited record whose leaf hash was recomputed too', async () => {
    const dir = tampered((db) => {
      const row = db.prepare('SELECT seq, body FROM log_v3 WHERE seq = 5').get() as {
        seq: number;
        body: string;
      };
      const body = row.body.replace('"success"', '"failure"');
      db.prepare('UPDATE log_v3 SET body = ?, leaf = ? WHERE seq = 5').run(body, leaf(body));
    });
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/TAMPERED: (root-mismatch|edited) at sequence \d+/);
  });

  it('a deleted record', async () => {
    const dir = tampered((db) => db.prepare('DELETE FROM log_v3 WHERE seq = 7').run());
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('TAMPERED: deleted at sequence 7');
  });

  it('an inserted record', async () => {
    const dir = tampered((db) => {
      const row = db.prepare('SELECT * FROM log_v3 WHERE seq = 3').get() as Record<string, unknown>;
      db.prepare('UPDATE log_v3 SET seq = -seq - 1000 WHERE seq >= 4').run();
      db.prepare('UPDATE log_v3 SET seq = -(seq + 1000) + 1 WHERE seq < -999').run();
      const body = String(row.body).replace('"sequence":3', '"sequence":4');
      db.prepare(
        'INSERT INTO log_v3 (seq, ts, id, action, body, leaf) VALUES (4, ?, ?, ?, ?, ?)',
      ).run(row.ts, 'forged', row.action, body, leaf(body));
    });
    const r = await verify(dir);
    expect(r.code).toBe(1);
    // The forged record and the displaced original both claim sequence 4; verify names the
    // position where the duplicate shows.
    expect(r.out).toMatch(/TAMPERED: inserted at sequence [45]/);
  });

  it('two records swapped', async () => {
    const dir = tampered((db) => {
      const a = db.prepare('SELECT body, leaf FROM log_v3 WHERE seq = 2').get() as {
        body: string;
        leaf: Buffer;
      };
      const b = db.prepare('SELECT body, leaf FROM log_v3 WHERE seq = 3').get() as {
        body: string;
        leaf: Buffer;
      };
      db.prepare('UPDATE log_v3 SET body = ?, leaf = ? WHERE seq = 2').run(b.body, b.leaf);
      db.prepare('UPDATE log_v3 SET body = ?, leaf = ? WHERE seq = 3').run(a.body, a.leaf);
    });
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('TAMPERED: reordered at sequence 2');
  });

  it('a truncated tail (fewer records than a signed checkpoint covers)', async () => {
    const cut = checkpointSize - 3;
    const dir = tampered((db) => db.prepare('DELETE FROM log_v3 WHERE seq >= ?').run(cut));
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`TAMPERED: truncated at sequence ${cut}`);
  });

  it('a checkpoint signed by another key', async () => {
    const dir = tampered((db) => {
      const cp = db
        .prepare('SELECT size, root FROM checkpoints_v1 ORDER BY size DESC LIMIT 1')
        .get() as { size: number; root: Buffer };
      const { privateKey } = generateKeyPairSync('ed25519');
      const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
      const other = parseSignerKey(formatSignerKey('test-node', seed));
      const note = makeSignedCheckpoint({
        origin: 'test-node',
        size: Number(cp.size),
        root: cp.root,
        key: other,
      });
      db.prepare('UPDATE checkpoints_v1 SET note = ? WHERE size = ?').run(note, cp.size);
    });
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/TAMPERED: (unknown-key|bad-signature) at sequence \d+/);
  });

  it('a forged checkpoint (root changed, signature kept)', async () => {
    const dir = tampered((db) => {
      const cp = db
        .prepare('SELECT size, note FROM checkpoints_v1 ORDER BY size DESC LIMIT 1')
        .get() as { size: number; note: string };
      const lines = cp.note.split('\n');
      lines[2] = Buffer.alloc(32, 7).toString('base64');
      db.prepare('UPDATE checkpoints_v1 SET note = ? WHERE size = ?').run(
        lines.join('\n'),
        cp.size,
      );
    });
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/TAMPERED: bad-signature at sequence \d+/);
  });

  it('exports a proof bundle that verifies offline, and refuses it once edited', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pw-bundle-')), 'bundle.json');
    const made = await runCli(['proof', '3', '--out', out, '--data-dir', pristine]);
    expect(made.code).toBe(0);
    const key = (await runCli(['checkpoint', '--public-key', '--data-dir', pristine])).out.trim();
    const ok = await runCli(['verify', '--bundle', out, '--key', key]);
    expect(ok.out).toMatch(/^ok: inclusion proof verified/);
    expect(ok.code).toBe(0);
    const { readFileSync, writeFileSync } = await import('node:fs');
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as { record: string };
    bundle.record = bundle.record.replace('"@timestamp":"2', '"@timestamp":"1');
    writeFileSync(out, JSON.stringify(bundle));
    const bad = await runCli(['verify', '--bundle', out, '--key', key]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^INVALID: /);
  });
});

describe('prune', () => {
  it('removes bodies before a time, keeps leaf hashes, records itself, and verify still passes', async () => {
    const dir = tampered(() => undefined);
    const r = await runCli(['prune', '--before', '1s', '--data-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^pruned the bodies of \d+ records \(sequences 0\.\.\d+\); leaf hashes kept/,
    );
    const v = await verify(dir);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/bodies pruned for 0\.\.\d+ \(leaf hashes kept and verified\)/);
    const last = await runCli([
      'search',
      '--data-dir',
      dir,
      '--action',
      'prune',
      '--format',
      'ndjson',
    ]);
    expect(JSON.parse(last.out.trim())).toMatchObject({ event: { action: 'prune' } });
  });
});
