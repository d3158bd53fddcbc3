import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/audit/event.js';
import { DeliverySink, type Transport } from '../../../src/sinks/index.js';
import { until } from '../../helpers/wait.js';

/** A transport that fails while `down` is true and remembers what it accepted. */
class ScriptedTransport implements Transport {
  down = false;
  readonly accepted: JsonObject[] = [];
  attempts = 0;
  deliver(record: JsonObject): Promise<void> {
    this.attempts++;
    if (this.down) return Promise.reject(new Error('connection refused'));
    this.accepted.push(record);
    return Promise.resolve();
  }
}

function alert(n: number): JsonObject {
  return { event: { id: `id-${n}`, action: 'anomaly-test', sequence: n } };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pw-sink-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function sink(
  transport: Transport,
  overrides: Partial<ConstructorParameters<typeof DeliverySink>[1]> = {},
): DeliverySink {
  return new DeliverySink(transport, {
    name: 'test',
    type: 'test',
    retryAttempts: 2,
    retryBackoffMs: 1,
    replayIntervalMs: 20,
    dedupWindowMs: 60_000,
    maxQueue: 100,
    spillDir: dir,
    ...overrides,
  });
}

describe('DeliverySink', () => {
  it('delivers in order when the transport is up', async () => {
    const t = new ScriptedTransport();
    const s = sink(t);
    for (let i = 0; i < 5; i++) s.send(alert(i));
    await s.flush();
    expect(t.accepted.map((r) => (r.event as JsonObject).sequence)).toEqual([0, 1, 2, 3, 4]);
    expect(s.stats()).toMatchObject({ delivered: 5, queued: 0, spilled: 0 });
    await s.close();
  });

  it('retries a bounded number of times, spills, and replays every record once in order', async () => {
    const t = new ScriptedTransport();
    t.down = true;
    const s = sink(t);
    for (let i = 0; i < 3; i++) s.send(alert(i));
    await s.flush();
    expect(t.attempts).toBe(2); // retry_attempts for the head record, then the queue spilled
    s.send(alert(3)); // while spilled: straight to disk, behind the others
    expect(s.stats().spilled).toBe(4);
    expect(readFileSync(join(dir, 'test.ndjson'), 'utf8').trim().split('\n')).toHaveLength(4);
    t.down = false;
    s.send(alert(4));
    await until(() => s.stats().spilled === 0 && t.accepted.length === 5);
    expect(t.accepted.map((r) => (r.event as JsonObject).sequence)).toEqual([0, 1, 2, 3, 4]);
    await s.close();
  });

  it('sends a de-duplication key once per window; the same record id once', async () => {
    const t = new ScriptedTransport();
    const s = sink(t);
    s.send(alert(1), { dedupKey: 'scan|10.0.0.5' });
    s.send(alert(2), { dedupKey: 'scan|10.0.0.5' });
    s.send(alert(3), { dedupKey: 'scan|10.0.0.6' });
    s.send(alert(3));
    s.send(alert(3));
    await s.flush();
    expect(t.accepted.map((r) => (r.event as JsonObject).id)).toEqual(['id-1', 'id-3', 'id-3']);
    expect(s.stats().deduplicated).toBe(2);
    await s.close();
  });

  it('spills what is queued at close and replays it after a restart', async () => {
    const t = new ScriptedTransport();
    t.down = true;
    const first = sink(t, { replayIntervalMs: 60_000 });
    first.send(alert(1));
    first.send(alert(2));
    await first.close();
    const t2 = new ScriptedTransport();
    const second = sink(t2);
    await until(() => t2.accepted.length === 2);
    expect(t2.accepted.map((r) => (r.event as JsonObject).id)).toEqual(['id-1', 'id-2']);
    await second.close();
  });

  it('puts an interrupted replay back in front of later spills', async () => {
    writeFileSync(join(dir, 'test.ndjson.replaying'), `${JSON.stringify(alert(1))}\n`);
    writeFileSync(join(dir, 'test.ndjson'), `${JSON.stringify(alert(2))}\nnot json\n`);
    const t = new ScriptedTransport();
    const s = sink(t);
    await until(() => t.accepted.length === 2 && s.stats().spilled === 0);
    expect(t.accepted.map((r) => (r.event as JsonObject).id)).toEqual(['id-1', 'id-2']);
    await s.close();
  });

  it('goes to disk beyond max_queue instead of holding more in memory', async () => {
    const accepted: JsonObject[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gated: Transport = {
      deliver: async (r) => {
        await gate;
        accepted.push(r);
      },
    };
    const s = sink(gated, { maxQueue: 2 });
    for (let i = 0; i < 4; i++) s.send(alert(i));
    expect(s.stats()).toMatchObject({ queued: 2, spilled: 2 });
    open();
    await until(() => accepted.length === 4 && s.stats().spilled === 0);
    expect(accepted.map((r) => (r.event as JsonObject).sequence)).toEqual([0, 1, 2, 3]);
    await s.close();
  });
});
