/**
 * Bulk load of the central store for bench/central-search.ts: synthetic records of several
 * nodes (bench/search-data.ts, one seed, observer, id and connection prefix per node, each
 * node a gapless sequence from 0 over the same 30 days), merged in time order as collectors
 * would receive them, turned into central rows by the collector's own `centralRow` (with the
 * real leaf hash) and written by the collector's own insert (`CentralTx.insertRecords`:
 * words, tsv and ts computed as on ingest). The schema comes from the real migrations; the
 * secondary indexes are dropped before the load and created again after it (as the local
 * bench does), then the table is vacuumed and analyzed.
 */
import { leafHash } from '../src/audit/integrity.js';
import { centralRow, type CentralRow } from '../src/ship/central-row.js';
import type { CentralStore } from '../src/ship/index.js';
import { records, type GeneratedRecord } from './search-data.js';

export interface LoadOptions {
  readonly rows: number;
  readonly nodes: number;
  readonly startNs: bigint;
  readonly spanNs: bigint;
  readonly onProgress?: (rows: number) => void;
}

const DAY = 86_400_000_000_000n;

export const nodeName = (i: number): string => `gw-${i + 1}`;

/** Rows per statement, statements per transaction, transactions at once. */
const BATCH = 5000;
const PER_TX = 4;
const IN_FLIGHT = 2;

/** The secondary indexes of `records` as CREATE INDEX statements on the partitioned table. */
async function secondaryIndexes(store: CentralStore): Promise<{ name: string; def: string }[]> {
  const r = await store.pool.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes
     WHERE schemaname = current_schema() AND tablename = 'records' AND indexname <> 'records_pkey'`,
  );
  // pg_indexes shows a partitioned table's index as ON ONLY (the parent alone): build them all.
  return r.rows.map((x) => ({ name: x.indexname, def: x.indexdef.replace(' ON ONLY ', ' ON ') }));
}

/** The per-node record streams merged by time (the next record of the earliest node first). */
function* merged(o: LoadOptions): Generator<{ node: string; g: GeneratedRecord }> {
  const heads = Array.from({ length: o.nodes }, (_, i) => {
    const rows = Math.floor(o.rows / o.nodes) + (i < o.rows % o.nodes ? 1 : 0);
    const it = records({
      rows,
      seed: 1000 + i,
      observer: nodeName(i),
      idPrefix: `0193${i.toString(16)}`,
      connPrefix: `${nodeName(i)}-c`,
      startNs: o.startNs,
      spanNs: o.spanNs,
    });
    const head = (): GeneratedRecord | undefined => {
      // The generator may finish a connection one record past `rows`: cut it there.
      const n = it.next();
      return n.done === true || n.value.row.sequence >= rows ? undefined : n.value;
    };
    return { node: nodeName(i), head, next: head() };
  });
  for (;;) {
    let best: (typeof heads)[number] | undefined;
    for (const h of heads) {
      if (h.next === undefined) continue;
      if (best?.next === undefined || h.next.row.timestampNs < best.next.row.timestampNs) best = h;
    }
    if (best?.next === undefined) return;
    yield { node: best.node, g: best.next };
    best.next = best.head();
  }
}

function toCentral(node: string, g: GeneratedRecord): CentralRow {
  const body = g.row.body ?? '';
  return centralRow({
    node,
    sequence: g.row.sequence,
    timestampNs: g.row.timestampNs,
    body,
    parsed: g.record,
    leafHash: leafHash(body),
  });
}

/** Loads `o.rows` records into an empty, migrated central store; returns seconds spent. */
export async function bulkLoad(
  store: CentralStore,
  o: LoadOptions,
): Promise<{ loadS: number; indexS: number }> {
  const t0 = performance.now();
  const indexes = await secondaryIndexes(store);
  for (const ix of indexes) await store.pool.query(`DROP INDEX ${ix.name}`);
  // Every day partition first: creating one locks `records` exclusively, which would wait
  // for the load's own open transactions.
  const days: bigint[] = [];
  for (let t = o.startNs; t <= o.startNs + o.spanNs + DAY; t += DAY) days.push(t);
  await store.ensurePartitions(days);
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  let done = 0;
  let tx: CentralRow[][] = [];
  let batch: CentralRow[] = [];
  const send = async (): Promise<void> => {
    const statements = tx;
    tx = [];
    const rows = statements.reduce((n, s) => n + s.length, 0);
    const p = store
      .transaction(async (t) => {
        for (const s of statements) await t.insertRecords(s);
      })
      .then(
        () => {
          done += rows;
          o.onProgress?.(done);
        },
        (err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  };
  for (const { node, g } of merged(o)) {
    batch.push(toCentral(node, g));
    if (batch.length >= BATCH) {
      tx.push(batch);
      batch = [];
      if (tx.length >= PER_TX) await send();
    }
  }
  if (batch.length > 0) tx.push(batch);
  if (tx.length > 0) await send();
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  const loadS = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  // One build at a time: two on the partitioned table race for the partitions' index names.
  const client = await store.pool.connect();
  try {
    await client.query(`SET maintenance_work_mem = '512MB'`);
    for (const ix of indexes) await client.query(ix.def);
  } finally {
    client.release();
  }
  // A store that has been running a while has been vacuumed and analyzed by autovacuum;
  // the partitioned parent itself is only ever analyzed by hand.
  await store.pool.query('VACUUM (ANALYZE) records');
  return { loadS, indexS: (performance.now() - t1) / 1000 };
}

/** Whether the store holds the indexes the migrations create (a finished load). */
export async function indexCount(store: CentralStore): Promise<number> {
  const r = await store.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'records'`,
  );
  return Number(r.rows[0]?.n ?? 0);
}
