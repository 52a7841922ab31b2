/** vitest globalSetup: the Chromium tests load the built console page, so (re)build it when its sources changed. */
import { buildConsoleIfStale } from '../../src/console/ensure-built.js';

export default async function setup(): Promise<void> {
  await buildConsoleIfStale();
}
