import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'agents/**/*.test.ts'],
    testTimeout: 30000,
    hookTimeout: 30000,
    // Integration tests open real sockets on loopback; keep parallelism modest on 2-core machines.
    maxWorkers: 2,
    // Builds the console page when its sources changed (the Chromium tests load it).
    globalSetup: ['test/console/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
