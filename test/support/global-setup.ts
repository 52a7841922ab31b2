/** vitest globalSetup: probe what the tests need from outside npm once, and (re)build the console page if stale. */
import type { TestProject } from 'vitest/node';
import { buildConsoleIfStale } from '../../src/console/ensure-built.js';
import { missingNotice, probeExternals } from './externals.js';

export default async function setup(project: TestProject): Promise<void> {
  const found = await probeExternals();
  const notice = missingNotice(found);
  if (notice !== undefined) {
    // CI must test everything: a missing external there is a broken machine, not a reason to skip.
    if (process.env.CI === 'true') throw new Error(`CI=true: ${notice.replace('skipping the tests that need', 'missing')}`);
    process.stdout.write(`notice: ${notice}\n`);
  }
  project.provide('externals', found);
  await buildConsoleIfStale();
}
