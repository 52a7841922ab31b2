/**
 * vitest globalSetup: probe what the tests need from outside npm once, and (re)build the console page if stale.
 * Both projects (vitest.config.ts) list it; the work and the notice line happen once per run (one process).
 */
import type { TestProject } from 'vitest/node';
import { buildConsoleIfStale } from '../../src/console/ensure-built.js';
import { missingNotice, probeExternals, type Externals } from './externals.js';

const ONCE = Symbol.for('voice-call-orchestrator.test.global-setup');
type Holder = { [ONCE]?: Promise<Externals> };

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
}
