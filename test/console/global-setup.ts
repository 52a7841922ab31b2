/**
 * vitest globalSetup: the Chromium tests load the built console page, so rebuild dist/console when any of its
 * sources is newer than the build (a clean clone, or an edit). Quiet: Vite logs only errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'vite';

const root = path.resolve(import.meta.dirname, '../..');
const sources = [path.join(root, 'console'), path.join(root, 'src/console/feed-types.ts'), path.join(root, 'src/records/summary-types.ts')];
const built = path.join(root, 'dist/console/index.html');

function newestMtime(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(file).map((name) => newestMtime(path.join(file, name))));
}

export default async function setup(): Promise<void> {
  const builtAt = fs.existsSync(built) ? fs.statSync(built).mtimeMs : 0;
  if (Math.max(...sources.map(newestMtime)) <= builtAt) return;
  await build({ configFile: path.join(root, 'console/vite.config.ts'), logLevel: 'error' });
}
