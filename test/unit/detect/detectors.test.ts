/**
 * Each detector fed a scripted sequence: quiet on the baseline, fires exactly on the record
 * that makes the sequence anomalous, and only in the phases it should.
 */
import { describe, expect, it } from 'vitest';
import { Observation, type Detector, type Firing, type Phase } from '../../../src/detect/index.js';
import { DenialBurstDetector } from '../../../src/detect/denial-burst.js';
import { NewAccessDetector } from '../../../src/detect/new-access.js';
import { OffHoursDetector, hourFunction } from '../../../src/detect/off-hours.js';
import { PortScanDetector } from '../../../src/detect/port-scan.js';
import { StatementClassDetector } from '../../../src/detect/statement-class.js';
import { VolumeDetector } from '../../../src/detect/volume.js';
import type { EventRow } from '../../../src/store/index.js';
import { at, row } from './rows.js';

/** Feed rows in one phase; return the index of each row that fired with its firing. */
function feed(
  d: Detector,
  rows: readonly EventRow[],
  phase: Phase = 'live',
): { index: number; firing: Firing }[] {
  const out: { index: number; firing: Firing }[] = [];
  rows.forEach((r, index) => {
    const firing = d.observe(new Observation(r), phase);
    if (firing !== null) out.push({ index, firing });
  });
  return out;
}

describe('new-access', () => {
  it('learns in the learning phase and fires once for a new (source, listener, user)', () => {
    const d = new NewAccessDetector({ maxKeys: 100, severity: 'medium' });
    const login = (source: string, user: string, minute: number): EventRow =>
      row({
        action: 'db-login',
        outcome: 'success',
        at: at(9, minute),
        listener: 'orders-db',
        source,
        user,
      });
    expect(feed(d, [login('10.0.0.1', 'app', 0), login('10.0.0.2', 'app', 1)], 'learning')).toEqual(
      [],
    );
    const live = [
      login('10.0.0.1', 'app', 2),
      login('10.0.0.1', 'dba', 3), // new user from a known source
      login('10.0.0.1', 'dba', 4),
      row({
        action: 'db-login',
        outcome: 'failure',
        at: at(9, 5),
        listener: 'orders-db',
        source: '10.0.0.9',
        user: 'x',
      }),
      login('10.0.0.2', 'app', 6),
    ];
    const fired = feed(d, live);
    expect(fired.map((f) => f.index)).toEqual([1]);
    expect(fired[0]?.firing).toMatchObject({
      key: '10.0.0.1|orders-db|dba',
      user: 'dba',
      related: [live[1]?.id],
    });
  });

  it('forgets the least recently used keys beyond max_keys', () => {
    const d = new NewAccessDetector({ maxKeys: 2, severity: 'low' });
    const close = (source: string): EventRow =>
      row({ action: 'connection-close', at: at(9), listener: 'cache', source });
    feed(d, [close('10.0.0.1'), close('10.0.0.2'), close('10.0.0.3')], 'learning');
    expect(feed(d, [close('10.0.0.3'), close('10.0.0.1')]).map((f) => f.index)).toEqual([1]);
  });
});

describe('off-hours', () => {
  it('fires on a connection in an hour the listener never had, once min_samples are known', () => {
    const d = new OffHoursDetector({
      maxKeys: 100,
      minSamples: 10,
      severity: 'medium',
      timezone: 'UTC',
    });
    const open = (hour: number, day: number, listener = 'orders-db'): EventRow =>
      row({
        action: 'connection-open',
        outcome: 'success',
        at: at(hour, 15, day),
        listener,
        source: '10.0.0.1',
      });
    const baseline: EventRow[] = [];
    for (let day = 2; day <= 6; day++) for (const hour of [9, 14]) baseline.push(open(hour, day));
    expect(feed(d, baseline, 'replay')).toEqual([]);
    const live = [open(9, 9), open(3, 9), open(3, 10), open(3, 10, 'other-db')];
    const fired = feed(d, live);
    expect(fired.map((f) => f.index)).toEqual([1]);
    expect(fired[0]?.firing.reason).toContain('usual hours: 09, 14');
  });

  it('does not judge a listener below min_samples', () => {
    const d = new OffHoursDetector({
      maxKeys: 100,
      minSamples: 50,
      severity: 'medium',
      timezone: 'UTC',
    });
    const rows = [9, 10, 3].map((h) =>
      row({
        action: 'connection-open',
        outcome: 'success',
        at: at(h),
        listener: 'a',
        source: '10.0.0.1',
      }),
    );
    expect(feed(d, rows)).toEqual([]);
  });

  it('reads hours in the configured zone', () => {
    expect(hourFunction('Europe/Berlin')(at(23))).toBe(0); // UTC+1 in March before DST
    expect(hourFunction('UTC')(at(23))).toBe(23);
  });
});

describe('denial-burst', () => {
  const denied = (minute: number, second: number, source = '10.0.0.7'): EventRow =>
    row({
      action: 'db-query',
      outcome: 'failure',
      at: at(9, minute) + second * 1000,
      listener: 'orders-db',
      source,
    });

  it('fires at the threshold-th denial inside the window, not on spread-out denials', () => {
    const d = new DenialBurstDetector({
      maxKeys: 100,
      threshold: 3,
      windowMs: 60_000,
      severity: 'high',
      traps: new Set(),
    });
    const rows = [
      denied(0, 0),
      denied(2, 0), // the first fell out of the window
      denied(5, 30),
      denied(6, 0),
      denied(6, 10, '10.0.0.8'),
      row({
        action: 'db-login',
        outcome: 'failure',
        at: at(9, 6) + 20_000,
        listener: 'orders-db',
        source: '10.0.0.7',
      }),
      denied(6, 30),
    ];
    const fired = feed(d, rows);
    expect(fired.map((f) => f.index)).toEqual([5]);
    expect(fired[0]?.firing.related).toEqual([rows[2]?.id, rows[3]?.id, rows[5]?.id]);
  });

  it('ignores successes, result errors and trap touches; never fires while replaying', () => {
    const d = new DenialBurstDetector({
      maxKeys: 100,
      threshold: 2,
      windowMs: 60_000,
      severity: 'high',
      traps: new Set(['trap-ssh']),
    });
    const rows = [
      row({ action: 'db-query', outcome: 'success', at: at(9), listener: 'a', source: '10.0.0.7' }),
      row({
        action: 'db-result',
        outcome: 'failure',
        at: at(9),
        listener: 'a',
        source: '10.0.0.7',
      }),
      row({
        action: 'connection-open',
        outcome: 'failure',
        at: at(9),
        listener: 'trap-ssh',
        source: '10.0.0.7',
      }),
      row({
        action: 'connection-open',
        outcome: 'failure',
        at: at(9),
        listener: 'trap-ssh',
        source: '10.0.0.7',
      }),
    ];
    expect(feed(d, rows)).toEqual([]);
    expect(feed(d, [denied(0, 1), denied(0, 2)], 'replay')).toEqual([]);
  });
});

describe('port-scan', () => {
  const open = (listener: string, second: number, source = '10.0.0.66'): EventRow =>
    row({
      action: 'connection-open',
      outcome: 'success',
      at: at(9) + second * 1000,
      listener,
      source,
    });

  it('fires when one source opens N distinct listeners within the window', () => {
    const d = new PortScanDetector({
      maxKeys: 100,
      listeners: 3,
      traps: 1,
      windowMs: 10_000,
      severity: 'high',
      trapNames: new Set(),
    });
    const rows = [
      open('a', 0),
      open('a', 1),
      open('b', 2),
      open('b', 3, '10.0.0.1'),
      open('c', 20),
      open('a', 21),
      open('b', 22),
    ];
    const fired = feed(d, rows);
    expect(fired.map((f) => f.index)).toEqual([6]);
    expect(fired[0]?.firing.facts).toEqual({ listeners: ['a', 'b', 'c'], traps: [] });
  });

  it('fires on the first trap touch', () => {
    const d = new PortScanDetector({
      maxKeys: 100,
      listeners: 5,
      traps: 1,
      windowMs: 10_000,
      severity: 'high',
      trapNames: new Set(['trap-ssh']),
    });
    const rows = [
      open('a', 0),
      row({
        action: 'connection-open',
        outcome: 'failure',
        at: at(9) + 1000,
        listener: 'trap-ssh',
        source: '10.0.0.66',
      }),
    ];
    const fired = feed(d, rows);
    expect(fired.map((f) => f.index)).toEqual([1]);
    expect(fired[0]?.firing.reason).toContain('trap port trap-ssh');
  });
});

describe('volume', () => {
  const close = (conn: string, bytes: number, minute: number): EventRow =>
    row({
      action: 'connection-close',
      at: at(9, minute),
      listener: 'orders-db',
      source: '10.0.0.1',
      connection: conn,
      body: {
        source: { bytes: Math.floor(bytes / 2) },
        destination: { bytes: Math.ceil(bytes / 2) },
      },
    });
  const result = (conn: string, rows: number, minute: number): EventRow =>
    row({
      action: 'db-result',
      at: at(9, minute),
      listener: 'orders-db',
      connection: conn,
      body: { db: { response: { returned_rows: rows } } },
    });

  it('fires on a connection far above the listener median in bytes or in summed rows', () => {
    const d = new VolumeDetector({
      maxKeys: 100,
      factor: 10,
      minSamples: 5,
      minBytes: 10_000,
      minRows: 1000,
      severity: 'high',
    });
    const baseline: EventRow[] = [];
    for (let i = 0; i < 6; i++)
      baseline.push(result(`c${i}`, 10, i), close(`c${i}`, 4000 + i * 100, i));
    expect(feed(d, baseline)).toEqual([]);
    const live = [
      close('big', 90_000, 10), // 22× the median
      result('dump', 900, 11),
      result('dump', 900, 12),
      close('dump', 4000, 13), // 1800 rows against a median of 10
      close('normal', 8000, 14), // 2× — fine
      close('small', 30_000, 15), // 7× — under the factor
    ];
    const fired = feed(d, live);
    expect(fired.map((f) => f.index)).toEqual([0, 3]);
    expect(fired[0]?.firing.reason).toContain('90000 bytes');
    expect(fired[1]?.firing.facts).toMatchObject({ rows: 1800, median_rows: 10 });
  });

  it('waits for min_samples before judging', () => {
    const d = new VolumeDetector({
      maxKeys: 100,
      factor: 2,
      minSamples: 5,
      minBytes: 1,
      minRows: 1,
      severity: 'high',
    });
    expect(feed(d, [close('a', 100, 0), close('b', 100_000, 1)])).toEqual([]);
  });
});

describe('new-statement-class', () => {
  const query = (user: string, cls: string, minute: number): EventRow =>
    row({
      action: 'db-query',
      at: at(9, minute),
      listener: 'orders-db',
      source: '10.0.0.1',
      user,
      body: { db: { operation: 'X', query: { class: cls } } },
    });

  it('fires the first time a user runs a class, per user', () => {
    const d = new StatementClassDetector({ maxKeys: 100, severity: 'medium' });
    feed(
      d,
      [query('app', 'read', 0), query('app', 'write', 1), query('dba', 'ddl', 2)],
      'learning',
    );
    const redis = row({
      action: 'redis-command',
      at: at(9, 9),
      listener: 'cache',
      source: '10.0.0.1',
      user: 'app',
      body: {
        redis: { command: 'FLUSHALL', acl_categories: ['keyspace', 'write', 'slow', 'dangerous'] },
      },
    });
    const live = [
      query('app', 'read', 3),
      query('app', 'ddl', 4),
      query('app', 'ddl', 5),
      query('dba', 'ddl', 6),
      redis,
    ];
    const fired = feed(d, live);
    expect(fired.map((f) => f.index)).toEqual([1, 4]);
    expect(fired[0]?.firing.key).toBe('app|sql:ddl');
    expect(fired[1]?.firing.key).toBe('app|redis:dangerous');
  });
});
