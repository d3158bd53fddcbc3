/** The slow-client rules of one connection (src/gateway/deadlines.ts), on a fake clock. */
import { describe, expect, it } from 'vitest';
import { Deadlines, type DeadlineLimits } from '../../../src/gateway/deadlines.js';

const limits: DeadlineLimits = {
  idle_timeout: 5000,
  handshake_timeout: 3000,
  header_timeout: 2000,
  min_rate: 32,
};

/** Sweeps every `step` ms from `from` to `to`, feeding byte totals from `bytes(t)`. */
function run(
  d: Deadlines,
  from: number,
  to: number,
  bytes: (t: number) => { client: number; server: number },
  step = 1000,
): { at: number; reason: string } | null {
  for (let t = from; t <= to; t += step) {
    const b = bytes(t);
    const overdue = d.check(t, b.client, b.server, limits);
    if (overdue !== null) return { at: t, reason: overdue.reason };
  }
  return null;
}

describe('Deadlines', () => {
  it('silence ends in timeout after idle_timeout', () => {
    const d = new Deadlines(0, false);
    expect(run(d, 1000, 20_000, () => ({ client: 0, server: 0 }))).toEqual({
      at: 6000,
      reason: 'timeout',
    });
  });

  it('a trickle under min_rate resets nothing and ends in slow-client', () => {
    const d = new Deadlines(0, false);
    // 5 bytes per second: below 32 B/s.
    expect(run(d, 1000, 20_000, (t) => ({ client: t / 200, server: 0 }))).toEqual({
      at: 6000,
      reason: 'slow-client',
    });
  });

  it('client bytes at min_rate or more are progress', () => {
    const d = new Deadlines(0, false);
    expect(run(d, 1000, 60_000, (t) => ({ client: (t / 1000) * 40, server: 0 }))).toBeNull();
  });

  it('rates are weighed over one-second windows even when sweeps come faster', () => {
    const d = new Deadlines(0, false);
    // 4 bytes every 100 ms sweep would look like 40 B/s per sweep; that is 40 B/s, progress.
    expect(run(d, 100, 30_000, (t) => ({ client: (t / 100) * 4, server: 0 }), 100)).toBeNull();
    const slow = new Deadlines(0, false);
    // 1 byte per 100 ms sweep is 10 B/s: a trickle.
    expect(run(slow, 100, 30_000, (t) => ({ client: t / 100, server: 0 }), 100)?.reason).toBe(
      'slow-client',
    );
  });

  it('any byte from the target is progress', () => {
    const d = new Deadlines(0, false);
    expect(run(d, 1000, 60_000, (t) => ({ client: t / 1000, server: t / 1000 }))).toBeNull();
  });

  it('min_rate 0 counts every client byte', () => {
    const d = new Deadlines(0, false);
    const overdue = (t: number): ReturnType<Deadlines['check']> =>
      d.check(t, t / 1000, 0, { ...limits, min_rate: 0 });
    for (let t = 1000; t <= 60_000; t += 1000) expect(overdue(t)).toBeNull();
  });

  it('the start-up deadline runs from the open until startupDone', () => {
    const d = new Deadlines(0, true);
    // Not open yet: no start-up clock (the upstream connect has its own timeout).
    expect(d.check(4000, 0, 0, limits)).toBeNull();
    d.opened(4000);
    expect(d.check(7000, 0, 1, limits)).toBeNull();
    expect(d.check(7001, 0, 2, limits)?.reason).toBe('handshake-timeout');
    const done = new Deadlines(0, true);
    done.opened(0);
    done.startupDone();
    expect(done.check(4000, 0, 1, limits)).toBeNull();
    const none = new Deadlines(0, false);
    none.opened(0);
    expect(none.check(4000, 0, 1, limits)).toBeNull();
  });

  it('a partly read request head has header_timeout from its first byte', () => {
    const d = new Deadlines(0, false);
    d.readingHead(true, 1000);
    d.readingHead(true, 2000);
    expect(d.check(3000, 100, 0, limits)).toBeNull();
    expect(d.check(3001, 200, 0, limits)?.reason).toBe('header-timeout');
    const whole = new Deadlines(0, false);
    whole.readingHead(true, 1000);
    whole.readingHead(false, 1500);
    expect(whole.check(4000, 100, 0, limits)).toBeNull();
  });

  it('idleFor reads the time since the last progress without changing it', () => {
    const d = new Deadlines(0, false);
    d.check(1000, 100, 0, limits);
    expect(d.idleFor(3000)).toBe(2000);
    expect(d.idleFor(3000)).toBe(2000);
  });
});
