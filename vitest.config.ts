import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real servers and SQLite files; two cores, so keep
    // the number of files running at once small to avoid timing flakiness.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
