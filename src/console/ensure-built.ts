/**
 * Builds the console page (dist/console) when any of its sources is newer than the build: the demo and the tests
 * run from source, where nothing else would build it. Vite is a dev dependency, loaded only when a build is due.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const SOURCES = ['console', 'src/console/feed-types.ts', 'src/console/replay-types.ts', 'src/console/session-types.ts', 'src/records/summary-types.ts', 'src/records/transfers.ts'].map((p) => path.join(root, p));
const BUILT = path.join(root, 'dist/console/index.html');

function newestMtime(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(file).map((name) => newestMtime(path.join(file, name))));
}

/** Resolves once dist/console is up to date; true when it had to be built. Quiet: Vite prints errors only. */
export async function buildConsoleIfStale(): Promise<boolean> {
  // Running from the build (dist/src/console): the page was built with it (and the installed package has no sources).
  if (path.basename(root) === 'dist') return false;
  const builtAt = fs.existsSync(BUILT) ? fs.statSync(BUILT).mtimeMs : 0;
  if (Math.max(...SOURCES.map(newestMtime)) <= builtAt) return false;
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'console/vite.config.ts'), logLevel: 'error' });
  return true;
}
