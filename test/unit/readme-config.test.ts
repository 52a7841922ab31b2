/**
 * The README documents every setting: each variable src/server/config.ts reads and each one the rest of the code reads from
 * the environment (the simulators' `*_SIM_*`) appears in its configuration tables, and each command-line flag our
 * CLIs parse appears in it too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/server/config.js';

const root = path.resolve(import.meta.dirname, '../..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** Backticked names in the first column of the tables under "Configuration". */
function documentedVariables(): Set<string> {
  const start = readme.indexOf('### Configuration');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const firstCell = /^\|([^|]*)\|/.exec(line)?.[1] ?? '';
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1] ?? '');
  }
  return names;
}

function sourceTexts(dirs: readonly string[]): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const dir of dirs) {
    const full = path.join(root, dir);
    if (!fs.existsSync(full)) continue;
    for (const name of fs.readdirSync(full, { recursive: true, encoding: 'utf8' }))
      if (name.endsWith('.ts')) out.push({ file: `${dir}/${name}`, text: fs.readFileSync(path.join(full, name), 'utf8') });
  }
  return out;
}

/** Variables read outside config.ts: `env.NAME`, `env['NAME']`, and the simulators' `'…_SIM_…'` names. */
function variablesReadElsewhere(): Set<string> {
  const names = new Set<string>();
  for (const { text } of sourceTexts(['src', 'offline', 'actors', 'lib', 'machines'])) {
    for (const m of text.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]+)\b/g)) names.add(m[1] ?? '');
    for (const m of text.matchAll(/['"]([A-Z][A-Z0-9]*_SIM_[A-Z0-9_]+)['"]/g)) names.add(m[1] ?? '');
  }
  return names;
}

describe('README configuration', () => {
  it('lists every variable src/server/config.ts reads', () => {
    expect(CONFIG_VARIABLES).toContain('PORT'); // the schema is read
    const documented = documentedVariables();
    expect(CONFIG_VARIABLES.filter((v) => !documented.has(v))).toEqual([]);
  });

  it('lists every variable read from the environment elsewhere (simulators)', () => {
    const read = [...variablesReadElsewhere()];
    expect(read).toContain('DEEPGRAM_SIM_PORT'); // the scan works
    const documented = documentedVariables();
    expect(read.filter((v) => !documented.has(v))).toEqual([]);
  });

  it('mentions every command-line flag of npm start, the demo and npm run call', () => {
    const flags = new Set<string>();
    for (const { text } of sourceTexts(['src', 'offline']))
      for (const m of text.matchAll(/['"](--[a-z][a-z-]+)['"]/g)) flags.add(m[1] ?? '');
    expect(flags).toContain('--verbose'); // the scan works
    expect([...flags].filter((f) => !new RegExp(`${f}(?![a-z-])`).test(readme))).toEqual([]);
  });
});
