import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'infra/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // End-to-end tests spawn the CLI and DuckDB; two cores, so keep the pool small.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
