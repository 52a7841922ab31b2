import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `voice-call-orchestrator` imports resolve to the sources through tsconfig.json's `paths` (the package's `exports`
  // point at the build).
  resolve: { tsconfigPaths: true },
  test: {
    include: ['test/**/*.test.ts', 'agents/**/*.test.ts'],
    testTimeout: 30000,
    hookTimeout: 30000,
    // Integration tests open real sockets on loopback; keep parallelism modest on 2-core machines.
    maxWorkers: 2,
    // Probes Chromium/nginx/PostgreSQL/Redis once (skip with one notice line; CI=true fails) and builds the console page when stale.
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
