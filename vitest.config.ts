import { defineConfig } from 'vitest/config';
import { configDefaults, type TestProjectInlineConfiguration } from 'vitest/config';
import { LongFirstSequencer } from './test/support/long-first.js';

/**
 * Two groups, run one after the other (vitest 4 runs projects of different `maxWorkers` as separate groups):
 *
 * 1. `unit` and `suite`, together. `unit` (unit, machine, integration, replay) runs its files one after another in
 *    each worker's one module graph (`isolate: false`): loading the dependencies (xstate, zod, the SDKs…) again for
 *    each file was a third of these files' CPU (measured: 129 → 95 CPU-s for unit + machine). `suite` is everything
 *    else, isolated (servers, environment, module state per file). Their files partly wait (loopback sockets,
 *    scripted pauses, child processes starting), so they run wider than the 2 cores: PARALLEL_WORKERS below.
 * 2. `realtime`: the few tests that exist to prove real-time behaviour and assert on it (the softphone's 50 frames/s
 *    and mark timing in Chromium, the bench smoke's barge-in, the voice bench, the production process under real
 *    signals). They run after the rest, two at a time as they always have, on an otherwise quiet machine.
 *
 * Both share one globalSetup (test/support/global-setup.ts: probe Chromium/nginx/PostgreSQL/Redis once, build the
 * console page once).
 */
const REALTIME = [
  'test/console/softphone-browser.test.ts',
  'test/bench/bench.test.ts',
  'test/bench/voice.test.ts',
  'test/e2e/process.test.ts',
];

/**
 * Files of each group-0 project at a time. The longest files mostly wait (the per-call budget at real pace, the
 * cluster, the package install, the demo played in real time) and the sequencer starts them first: with 3 workers a
 * stretch of ~150 s had the 2 cores 15–30 % busy (vmstat every 5 s) and the whole run took 454 s; with 4, 392 s and
 * the cores 80 % busy on average; with 5, 391 s, 88 % busy, and every file slower from contention. Measured
 * 2026-12-07 on this 2-core machine, 685 tests, CI=true.
 */
const PARALLEL_WORKERS = 4;

/** Files that need no isolation from each other: no server of their own in the module graph, no process-wide state. */
const SHARED_GRAPH = ['test/unit/**/*.test.ts', 'test/machine/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/replay/**/*.test.ts'];

const shared = {
  testTimeout: 30000,
  hookTimeout: 30000,
  globalSetup: ['test/support/global-setup.ts'],
} satisfies TestProjectInlineConfiguration['test'];

export default defineConfig({
  // `voice-call-orchestrator` imports resolve to the sources through tsconfig.json's `paths` (the package's `exports`
  // point at the build).
  resolve: { tsconfigPaths: true },
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true, // the root's `resolve` (tsconfig paths) holds in each project
        test: {
          ...shared,
          name: 'unit',
          include: SHARED_GRAPH,
          isolate: false,
          maxWorkers: PARALLEL_WORKERS,
          sequence: { groupOrder: 0, sequencer: LongFirstSequencer },
        },
      },
      {
        extends: true,
        test: {
          ...shared,
          name: 'suite',
          include: ['test/**/*.test.ts', 'agents/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...REALTIME, ...SHARED_GRAPH],
          maxWorkers: PARALLEL_WORKERS,
          sequence: { groupOrder: 0, sequencer: LongFirstSequencer },
        },
      },
      {
        extends: true,
        test: {
          ...shared,
          name: 'realtime',
          include: REALTIME,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
