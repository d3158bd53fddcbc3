/**
 * `portwarden search`, `who` and the export formats through the real CLI, against a data
 * directory holding the generated data set (test/unit/store/dataset.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTimestampNs } from '../../src/audit/clock.js';
import { run } from '../helpers/run.js';
import { buildDataset } from '../unit/store/dataset.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let dir: string;
let duringC1: bigint;

function cli(...args: string[]): Promise<string> {
  return run(process.execPath, ['--import', 'tsx', MAIN, '--data-dir', dir, ...args]);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pw-search-cli-'));
  const ds = buildDataset(join(dir, 'portwarden.db'));
  duringC1 = ds.duringC1;
  ds.store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('search through the CLI', () => {
  it('new filters, --count and --group-by', async () => {
    const [count, rule, groups] = await Promise.all([
      cli('search', '--operation', 'select', '--count'),
      cli('search', '--rule', 'no-delete', '--format', 'csv'),
      cli('search', '--group-by', 'listener', '--status', '403'),
    ]);
    expect(count.trim()).toBe('2');
    const lines = rule.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('http-request');
    expect(groups).toBe('api\t1\n');
  });

  it('--connection tells one story oldest first; --community-id finds it from either leg', async () => {
    const [story, upstreamLeg] = await Promise.all([
      cli('search', '--connection', 'c2', '--format', 'ndjson'),
      cli('search', '--community-id', '1:c2-upstream', '--order', 'oldest', '--format', 'ndjson'),
    ]);
    const actions = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { event: { action: string } }).event.action);
    expect(actions(story)).toEqual([
      'connection-open',
      'redis-command',
      'redis-reply',
      'connection-close',
    ]);
    expect(upstreamLeg).toBe(story);
  });

  it('--text, --format zeek and --format ocsf', async () => {
    const [text, zeek, ocsf] = await Promise.all([
      cli('search', '--text', 'delete from', '--format', 'ndjson'),
      cli('search', '--all', '--limit', '3', '--format', 'zeek'),
      cli('search', '--action', 'http-request', '--format', 'ocsf'),
    ]);
    expect(text).toContain('DELETE FROM order_items');
    const zeekRows = zeek.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(zeekRows).toHaveLength(7);
    expect(zeek).toContain('#fields\tts\tuid\tid.orig_h');
    const events = ocsf
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number });
    expect(events.map((e) => e.class_uid)).toEqual([6003, 6003]);
  });

  it('--summary and who', async () => {
    const at = formatTimestampNs(duringC1);
    const [summary, who] = await Promise.all([
      cli('search', '--summary', '--since', '30d', '--format', 'ndjson'),
      cli('who', '10.0.0.9:40001', '--at', at),
    ]);
    const s = JSON.parse(summary) as { total: number; denied: { total: number } };
    expect(s.total).toBe(25);
    expect(s.denied.total).toBe(4);
    expect(who).toContain('connection  c1  (matched on the upstream leg)');
    expect(who).toContain('client      10.0.0.1:50001');
  });
});
