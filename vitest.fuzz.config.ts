import { defineConfig } from 'vitest/config';

/** `npm run fuzz`: fast-check over every parser for FUZZ_SECONDS (default 60) in all. */
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One file at a time: the budget is wall time, shared by the targets.
    fileParallelism: false,
  },
});
