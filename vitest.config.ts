import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/evidence (crash, store faults, floods) runs in CI; test/soak only with SOAK=1.
    exclude: process.env.SOAK ? ['node_modules/**'] : ['test/soak/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
