/**
 * Crash safety, full (`npm run soak`): twenty SIGKILLs at random moments under PostgreSQL
 * INSERT and Redis INCR load through a strict gateway child process.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/run.js';
import { runCrashScenario } from '../evidence/crash-scenario.js';

describe('crash safety, soak (20 × kill -9)', () => {
  it('loses no record of anything the servers applied', async () => {
    const out = await runCrashScenario({ kills: 20, runMs: [200, 3000], run });
    expect(out.pgMissing).toEqual([]);
    expect(out.redisRecorded).toBeGreaterThanOrEqual(out.redisApplied);
    expect(out.redisRecorded - out.redisApplied).toBeLessThanOrEqual(2 * out.kills);
    expect(out.gaps).toEqual([]);
    expect(out.duplicates).toEqual([]);
    expect(out.verifyExit).toBe(0);
  }, 600_000);
});
