/**
 * `portwarden_index_lag_records`: the committed records the search index has not reached,
 * read from the store at scrape time (searches read those from the log, more slowly).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Recorder } from '../../src/audit/recorder.js';
import { GatewayMetrics } from '../../src/api/metrics.js';
import { SqliteStore } from '../../src/store/index.js';

let store: SqliteStore;
let metrics: GatewayMetrics;
afterEach(() => {
  metrics.close();
  store.close();
});

const lag = async (): Promise<string | undefined> =>
  /^portwarden_index_lag_records (\d+)$/m.exec((await metrics.render()).body)?.[1];

describe('index lag metric', () => {
  it('counts the records committed since the index last caught up', async () => {
    // No indexer: the index moves only when told to.
    store = new SqliteStore(':memory:', { indexer: 'none' });
    const recorder = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'n' });
    metrics = new GatewayMetrics({
      store,
      recorder,
      activeConnections: () => new Map(),
      defaultMetrics: false,
    });
    expect(await lag()).toBe('0');
    for (let i = 0; i < 7; i++)
      recorder.append({ event: { action: 'db-query', category: [], type: [] } });
    recorder.flush();
    expect(await lag()).toBe('7');
    store.indexNow();
    expect(await lag()).toBe('0');
    recorder.close();
  });
});
