/**
 * Crash safety, reduced for CI (the full run is test/soak/crash.test.ts): a strict gateway
 * child process under PostgreSQL INSERT and Redis INCR load is killed with SIGKILL three
 * times at random moments and restarted; nothing the servers applied is missing a record.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/run.js';
import { runCrashScenario } from './crash-scenario.js';

describe('crash safety (kill -9 under load, strict mode)', () => {
  it('every committed INSERT and applied INCR has its record; sequences gapless; verify passes', async () => {
    const out = await runCrashScenario({ kills: 3, runMs: [400, 1200], run });
    expect(out.pgCommitted).toBeGreaterThan(20);
    expect(out.redisApplied).toBeGreaterThan(20);
    expect(out.pgMissing).toEqual([]);
    // A record committed just before a kill may describe an INCR that never reached Redis.
    expect(out.redisRecorded).toBeGreaterThanOrEqual(out.redisApplied);
    expect(out.redisRecorded - out.redisApplied).toBeLessThanOrEqual(2 * out.kills);
    expect(out.gaps).toEqual([]);
    expect(out.duplicates).toEqual([]);
    expect(out.verifyOutput).not.toMatch(/tamper/i);
    expect(out.verifyExit).toBe(0);
  }, 120_000);
});
