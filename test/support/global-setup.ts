/**
 * vitest globalSetup: probe what the tests need from outside npm once, and (re)build the console page if stale.
 * Both projects (vitest.config.ts) list it; the work and the notice line happen once per run (one process).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildConsoleIfStale } from '../../src/console/ensure-built.js';
import { missingNotice, probeExternals, type Externals } from './externals.js';

const ONCE = Symbol.for('voice-call-orchestrator.test.global-setup');
const BUILD_DIR = Symbol.for('voice-call-orchestrator.test.build-run-dir');
type Holder = { [ONCE]?: Promise<Externals>; [BUILD_DIR]?: string };

async function probeAndBuild(): Promise<Externals> {
  const found = await probeExternals();
  const notice = missingNotice(found);
  if (notice !== undefined) {
    // CI must test everything: a missing external there is a broken machine, not a reason to skip.
    if (process.env.CI === 'true') throw new Error(`CI=true: ${notice.replace('skipping the tests that need', 'missing')}`);
    process.stdout.write(`notice: ${notice}\n`);
  }
  await buildConsoleIfStale();
  return found;
}

export default async function setup(project: TestProject): Promise<void> {
  const holder = globalThis as Holder;
  holder[ONCE] ??= probeAndBuild();
  project.provide('externals', await holder[ONCE]);
  // One directory for the whole run (both projects): the shared production build (test/support/built-server.ts).
  holder[BUILD_DIR] ??= mkdtempSync(path.join(os.tmpdir(), 'vco-test-build-'));
  project.provide('buildRunDir', holder[BUILD_DIR]);
}

export function teardown(): void {
  const holder = globalThis as Holder;
  if (holder[BUILD_DIR] !== undefined) rmSync(holder[BUILD_DIR], { recursive: true, force: true });
  delete holder[BUILD_DIR];
}
