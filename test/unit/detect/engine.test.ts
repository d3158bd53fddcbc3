/**
 * The engine over a real store and recorder: baselines rebuilt at start without firing,
 * anomaly records appended and sent once, its own alerts never fed back, a restart that
 * neither forgets the baseline nor repeats an alert.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/audit/event.js';
import { NO_CONTEXT, Recorder } from '../../../src/audit/recorder.js';
import { DetectorEngine, detectorsSchema } from '../../../src/detect/index.js';
import type { SendOptions, Sink, SinkStats } from '../../../src/sinks/index.js';
import { SqliteStore } from '../../../src/store/index.js';
import { until } from '../../helpers/wait.js';

class MemorySink implements Sink {
  readonly name = 'memory';
  readonly type = 'memory';
  readonly sent: { record: JsonObject; key: string | undefined }[] = [];
  send(record: JsonObject, options: SendOptions = {}): void {
    this.sent.push({ record, key: options.dedupKey });
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  stats(): SinkStats {
    return {
      delivered: this.sent.length,
      deduplicated: 0,
      queued: 0,
      spilled: 0,
      failures: 0,
      lastError: null,
    };
  }
}

let store: SqliteStore;
let recorder: Recorder;

beforeEach(() => {
  store = new SqliteStore(':memory:');
  recorder = new Recorder(store, { mode: 'strict', flushMs: 5, observer: 'test' });
});
afterEach(() => {
  recorder.close();
  store.close();
});

function login(source: string, user: string): void {
  recorder.append(
    {
      event: { action: 'db-login', category: ['database'], type: ['start'], outcome: 'success' },
      user: { name: user },
    },
    {
      ...NO_CONTEXT,
      fields: { listener: { name: 'orders-db' }, source: { ip: source, port: 40000 } },
      listener: 'orders-db',
      sourceIp: source,
      sourcePort: 40000,
      user,
    },
  );
}

function actions(): string[] {
  return [...store.iterate(0)].map((r) => r.action);
}

const config = detectorsSchema.parse({ learning: 0, cooldown: '1h' });

describe('DetectorEngine', () => {
  it('rebuilds without firing, fires once on a new key, sends the committed alert once', async () => {
    login('10.0.0.1', 'app');
    login('10.0.0.2', 'app');
    recorder.flush();
    const sink = new MemorySink();
    const engine = new DetectorEngine({ config, store, recorder, sinks: [sink] });
    await engine.start();
    expect(engine.fired).toBe(0);

    login('10.0.0.1', 'app');
    login('10.0.0.1', 'dba');
    await until(() => sink.sent.length === 1);
    const alerts = [...store.iterate(0)].filter((r) => r.action === 'anomaly-new-access');
    expect(alerts).toHaveLength(1);
    const alert = JSON.parse(alerts[0]?.body ?? '{}') as JsonObject;
    expect(alert).toMatchObject({
      event: { kind: 'alert', severity: 47, action: 'anomaly-new-access' },
      alert: { detector: 'new-access', severity: 'medium', key: '10.0.0.1|orders-db|dba' },
      listener: { name: 'orders-db' },
      source: { ip: '10.0.0.1' },
      user: { name: 'dba' },
    });
    const related = (alert.related as { events: string[] }).events;
    expect(related).toHaveLength(1);
    expect(store.getById(related[0] ?? '')?.action).toBe('db-login');
    expect(alerts[0]).toMatchObject({ listener: 'orders-db', sourceIp: '10.0.0.1', user: 'dba' });
    expect(sink.sent[0]?.key).toBe('anomaly-new-access|10.0.0.1|orders-db|dba');
    expect((sink.sent[0]?.record.event as JsonObject).id).toBe(alerts[0]?.id);
    expect(actions()).toEqual([
      'db-login',
      'db-login',
      'db-login',
      'db-login',
      'anomaly-new-access',
    ]);
    engine.stop();

    // Restart: the baseline (and the alert's cooldown) come back from the store.
    const sink2 = new MemorySink();
    const again = new DetectorEngine({ config, store, recorder, sinks: [sink2] });
    await again.start();
    login('10.0.0.1', 'dba');
    login('10.0.0.3', 'app');
    await until(() => sink2.sent.length === 1);
    recorder.flush();
    expect(again.fired).toBe(1);
    expect(actions().filter((a) => a.startsWith('anomaly-'))).toHaveLength(2);
    expect(sink2.sent[0]?.record).toMatchObject({ alert: { key: '10.0.0.3|orders-db|app' } });
    again.stop();
  });

  it('only learns during the learning period after the first record', async () => {
    const learning = detectorsSchema.parse({ learning: '1h' });
    const engine = new DetectorEngine({ config: learning, store, recorder });
    await engine.start();
    login('10.0.0.1', 'app');
    login('10.0.0.9', 'intruder');
    recorder.flush();
    await until(() => store.nextSequence() === 2);
    await new Promise((r) => setImmediate(r));
    expect(engine.fired).toBe(0);
    engine.stop();
  });

  it('does not send alerts below min_severity', async () => {
    const sink = new MemorySink();
    const engine = new DetectorEngine({
      config,
      store,
      recorder,
      sinks: [sink],
      minSeverity: 'high',
    });
    await engine.start();
    login('10.0.0.1', 'app');
    await until(() => engine.fired === 1 && store.nextSequence() === 2);
    await new Promise((r) => setImmediate(r));
    expect(sink.sent).toEqual([]);
    engine.stop();
  });
});
