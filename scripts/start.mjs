/**
 * `npm start`: runs the built server (`node dist/src/cli/main.js`), building it first only when a source is newer
 * than the build — a build is a full tsc + Vite run (10–20 s on a small machine), which a restart should not pay
 * when nothing changed. Says which it did. Plain JavaScript: it runs before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
/** Each build output and the sources it comes from. */
const OUTPUTS = [
  { built: 'dist/.tsbuildinfo', from: ['src', 'machines', 'actors', 'lib', 'offline', 'agents', 'package.json', 'tsconfig.json', 'tsconfig.build.json'] },
  { built: 'dist/console/index.html', from: ['console'] },
];

/** The newest modification time under `entry` (a file or a folder), ignoring build output and dependencies. */
function newest(entry) {
  let stat;
  try {
    stat = fs.statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) {
    if (name === 'node_modules' || name === 'dist') continue;
    latest = Math.max(latest, newest(path.join(entry, name)));
  }
  return latest;
}

const missing = !fs.existsSync(path.join(root, 'dist/src/cli/main.js')) || OUTPUTS.some((o) => !fs.existsSync(path.join(root, o.built)));
const stale = OUTPUTS.some((o) => Math.max(...o.from.map((entry) => newest(path.join(root, entry)))) > fs.statSync(path.join(root, o.built), { throwIfNoEntry: false })?.mtimeMs);
if (missing || stale) {
  console.log(missing ? 'npm start: no build yet, building (npm run build) …' : 'npm start: sources changed since the last build, rebuilding (npm run build) …');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
} else {
  console.log('npm start: the build in dist/ is up to date (npm run build forces one)');
}
await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
