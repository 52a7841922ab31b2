/** Every dependency in package.json is used: imported by some file of ours, or run by an npm script. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const DIRS = ['machines', 'actors', 'lib', 'src', 'offline', 'agents', 'bench', 'test', 'console'];

interface PackageJson {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson;

function importedPackages(): Set<string> {
  const found = new Set<string>();
  const scan = (file: string): void => {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'".][^'"]*)['"]/g)) {
      const spec = m[1] ?? '';
      const parts = spec.split('/');
      found.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? ''));
    }
  };
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name)) scan(full);
    }
  };
  for (const dir of DIRS) walk(path.join(root, dir));
  for (const file of fs.readdirSync(root)) if (/\.config\.(ts|mts|js)$/.test(file)) scan(path.join(root, file));
  return found;
}

/** Commands the npm scripts run, mapped to the package that provides them. */
function scriptCommands(): Set<string> {
  const bins: Record<string, string> = { tsc: 'typescript', tsx: 'tsx', vitest: 'vitest', vite: 'vite' };
  const used = new Set<string>();
  for (const script of Object.values(pkg.scripts ?? {}))
    for (const word of script.split(/[\s&|;]+/)) if (bins[word]) used.add(bins[word]);
  return used;
}

describe('package.json', () => {
  it('lists no dependency that nothing uses', () => {
    const imported = importedPackages();
    const run = scriptCommands();
    expect(imported).toContain('xstate'); // the scan works
    const all = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
    const typesFor = (name: string) => name.replace(/^@types\//, '');
    const unused = all.filter((name) =>
      name.startsWith('@types/')
        ? !(typesFor(name) === 'node' || imported.has(typesFor(name)))
        : !(imported.has(name) || run.has(name)),
    );
    expect(unused).toEqual([]);
  });
});
