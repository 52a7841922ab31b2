/**
 * Marks dist/ as built now. `npm start` (scripts/start.mjs) rebuilds when a source is newer than the build's
 * `dist/.tsbuildinfo`; but an incremental tsc that finds no change in content (a file touched, a branch checked out and
 * back) rewrites nothing, so without this the next start would find the same "newer" source and rebuild every time.
 * Run by `npm run build` after tsc, and by the tests' shared build. Plain JavaScript: it runs before anything is compiled.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function stampBuild(root) {
  const stamp = path.join(root, 'dist/.tsbuildinfo');
  if (!fs.existsSync(stamp)) return;
  const now = new Date();
  fs.utimesSync(stamp, now, now);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  stampBuild(path.resolve(import.meta.dirname, '..'));
}
