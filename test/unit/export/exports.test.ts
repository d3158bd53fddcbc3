import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CSV_COLUMNS,
  RecordWriter,
  type ExportFormat,
  zeekEscape,
} from '../../../src/export/index.js';
import type { EventRow } from '../../../src/store/index.js';
import { buildDataset, type Dataset } from '../store/dataset.js';

let ds: Dataset;
let all: EventRow[];
beforeAll(() => {
  ds = buildDataset();
  all = [...ds.store.iterate(0)];
});
afterAll(() => ds.store.close());

function write(format: ExportFormat, rows: readonly EventRow[], live = false): string {
  const w = new RecordWriter(format, ds.store, { live });
  return w.header() + w.rows(rows) + w.footer();
}

/** A Zeek ASCII log reader that trusts only the header lines (`#fields`, `#separator`…). */
function readZeek(text: string): { meta: Map<string, string>; rows: Map<string, string>[] } {
  const lines = text.split('\n').filter((l) => l !== '');
  const first = lines[0] ?? '';
  expect(first.startsWith('#separator ')).toBe(true);
  const sep = String.fromCharCode(parseInt(first.slice('#separator \\x'.length), 16));
  const meta = new Map<string, string>();
  const rows: Map<string, string>[] = [];
  let fields: string[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith('#')) {
      const [key, ...rest] = line.slice(1).split(sep);
      meta.set(key ?? '', rest.join(sep));
      if (key === 'fields') fields = rest;
      continue;
    }
    const cells = line.split(sep);
    expect(cells).toHaveLength(fields.length);
    rows.push(new Map(fields.map((f, i) => [f, cells[i] ?? ''])));
  }
  return { meta, rows };
}

describe('Zeek conn.log', () => {
  it('has Zeek’s header lines, one line per connection, and reads back through #fields', () => {
    const { meta, rows } = readZeek(write('zeek', all));
    expect(meta.get('set_separator')).toBe(',');
    expect(meta.get('empty_field')).toBe('(empty)');
    expect(meta.get('unset_field')).toBe('-');
    expect(meta.get('path')).toBe('conn');
    expect(meta.get('open')).toMatch(/^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/);
    expect(meta.get('close')).toMatch(/^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/);
    const types = (meta.get('types') ?? '').split('\t');
    const fields = (meta.get('fields') ?? '').split('\t');
    expect(types[fields.indexOf('ts')]).toBe('time');
    expect(types[fields.indexOf('id.orig_p')]).toBe('port');
    expect(types[fields.indexOf('duration')]).toBe('interval');
    const byUid = new Map(rows.map((r) => [r.get('uid'), r]));
    expect([...byUid.keys()]).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    const state = (uid: string) => byUid.get(uid)?.get('conn_state');
    expect(state('c1')).toBe('SF'); // client-close
    expect(state('c2')).toBe('RSTR'); // reset by the target
    expect(state('c3')).toBe('SF'); // server-close
    expect(state('c4')).toBe('REJ'); // refused by policy
    expect(state('c5')).toBe('S0'); // upstream unreachable
    expect(state('c6')).toBe('S1'); // still open
    expect(state('c7')).toBe('OTH'); // idle timeout
    const c1 = byUid.get('c1');
    expect(c1?.get('id.orig_h')).toBe('10.0.0.1');
    expect(c1?.get('id.orig_p')).toBe('50001');
    expect(c1?.get('id.resp_h')).toBe('10.0.0.9');
    expect(c1?.get('id.resp_p')).toBe('15432');
    expect(c1?.get('proto')).toBe('tcp');
    expect(c1?.get('service')).toBe('postgresql');
    expect(c1?.get('orig_bytes')).toBe('100');
    expect(c1?.get('resp_bytes')).toBe('200');
    expect(c1?.get('community_id')).toBe('1:c1-client');
    const open = ds.store.getBySequence(0);
    const close = ds.store.getBySequence(6);
    const seconds = (ns: bigint) => Number(ns) / 1e9;
    expect(Number(c1?.get('ts'))).toBeCloseTo(seconds(open?.timestampNs ?? 0n), 5);
    expect(Number(c1?.get('duration'))).toBeCloseTo(
      seconds((close?.timestampNs ?? 0n) - (open?.timestampNs ?? 0n)),
      5,
    );
    expect(byUid.get('c4')?.get('duration')).toBe('-');
    expect(byUid.get('c3')?.get('service')).toBe('http');
  });

  it('a search hit anywhere in a connection yields that connection’s line', () => {
    const hits = ds.store.search({ rule: 'no-delete', order: 'oldest' }).rows;
    const { rows } = readZeek(write('zeek', hits));
    expect(rows.map((r) => r.get('uid'))).toEqual(['c1', 'c3']);
  });

  it('live (tail): a line only when the connection ends', () => {
    const { rows } = readZeek(write('zeek', all.slice(0, 6), true));
    expect(rows).toEqual([]);
    const { rows: ended } = readZeek(write('zeek', all.slice(0, 7), true));
    expect(ended.map((r) => r.get('uid'))).toEqual(['c1']);
  });

  it('escapes tabs, control bytes, backslashes and the unset/empty markers', () => {
    expect(zeekEscape('a\tb\nc\\')).toBe('a\\x09b\\x0ac\\x5c');
    expect(zeekEscape('-')).toBe('\\x2d');
    expect(zeekEscape('')).toBe('(empty)');
  });
});

/** Required attributes per OCSF 1.4.0 class (base event + class), written out from the schema. */
const BASE_REQUIRED = [
  'activity_id',
  'category_uid',
  'class_uid',
  'metadata',
  'severity_id',
  'time',
  'type_uid',
];
const CLASS_REQUIRED: Record<number, { required: string[]; atLeastOne?: string[] }> = {
  4001: { required: [], atLeastOne: ['src_endpoint', 'dst_endpoint'] },
  6005: { required: ['actor', 'src_endpoint'], atLeastOne: ['database', 'databucket', 'table'] },
  6003: { required: ['actor', 'api', 'src_endpoint'] },
  0: { required: [] },
};

describe('OCSF', () => {
  it('every record maps to its class with the class’s required fields and the schema version', () => {
    const events = write('ocsf', all)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(all.length);
    const classes = new Map<string, number>();
    events.forEach((e, i) => {
      const row = all[i];
      const cls = e.class_uid as number;
      classes.set(row?.action ?? '', cls);
      const spec = CLASS_REQUIRED[cls];
      expect(spec, `class ${cls}`).toBeDefined();
      for (const k of [...BASE_REQUIRED, ...(spec?.required ?? [])])
        expect(e[k], `${row?.action} ${k}`).toBeDefined();
      if (spec?.atLeastOne) expect(spec.atLeastOne.some((k) => e[k] !== undefined)).toBe(true);
      expect(e.type_uid).toBe(cls * 100 + (e.activity_id as number));
      const metadata = e.metadata as { version: string; product: { name: string } };
      expect(metadata.version).toBe('1.4.0');
      expect(metadata.product.name).toBe('portwarden');
      expect(e.time).toBe(Number((row?.timestampNs ?? 0n) / 1_000_000n));
      if (cls === 6003) expect((e.api as { operation?: string }).operation).toBeTruthy();
    });
    expect(Object.fromEntries(classes)).toEqual({
      'connection-open': 4001,
      'connection-close': 4001,
      'db-login': 6005,
      'db-query': 6005,
      'db-result': 6005,
      'redis-command': 6005,
      'redis-reply': 6005,
      'http-request': 6003,
      'http-response': 6003,
      checkpoint: 0,
    });
    const byAction = (seq: number) => events[seq] ?? {};
    expect(byAction(0).activity_id).toBe(1); // open
    expect(byAction(6).activity_id).toBe(2); // close
    expect(byAction(10).activity_id).toBe(3); // reset
    expect(byAction(17).activity_id).toBe(5); // refused by policy
    expect(byAction(18).activity_id).toBe(4); // upstream unreachable
    expect(byAction(2).activity_id).toBe(4); // SELECT: Query
    expect(byAction(4).activity_id).toBe(7); // DELETE
    expect(byAction(4).status_id).toBe(2);
    expect(byAction(12).activity_id).toBe(2); // GET: Read
    expect(byAction(14).activity_id).toBe(4); // DELETE
    expect(byAction(6).traffic).toEqual({ bytes_in: 100, bytes_out: 200, bytes: 300 });
    expect(byAction(2).query_info).toEqual({ query_string: 'SELECT * FROM orders WHERE id = $1' });
    expect((byAction(0).connection_info as { community_uid: string }).community_uid).toBe(
      '1:c1-client',
    );
  });
});

describe('CSV and NDJSON', () => {
  it('CSV: a header and one row per record, quoted where needed', () => {
    const lines = write('csv', all).trim().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(all.length + 1);
    const header = (lines[0] ?? '').split(',');
    const c1query = (lines[3] ?? '').split(',');
    expect(c1query[header.indexOf('action')]).toBe('db-query');
    expect(c1query[header.indexOf('rule')]).toBe('app-read');
    expect(c1query[header.indexOf('operation')]).toBe('SELECT');
    expect(c1query[header.indexOf('class')]).toBe('read');
  });

  it('NDJSON: the stored record itself', () => {
    const lines = write('ndjson', all).trim().split('\n');
    expect(lines).toEqual(all.map((r) => r.body));
  });
});
