/**
 * The layering rules, checked on the import graph of the source files: machines ← actors ← src, `lib/` below
 * everything, the simulators (`offline/`) import nothing of the server, `src/` is in rooms whose imports point one
 * way, the offline world is never on the production start-up path, and there are no import cycles.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const SOURCE_DIRS = ['machines', 'actors', 'lib', 'src', 'offline', 'agents'];

type Edge = { to: string; typeOnly: boolean };

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(path.join(root, dir))) return;
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) out.push(rel);
    }
  };
  SOURCE_DIRS.forEach(walk);
  return out;
}

/** Static imports and re-exports (dynamic `import()` is not an edge: it loads only when reached). */
function importsOf(file: string): Edge[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const edges: Edge[] = [];
  const pattern = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const match of text.matchAll(pattern)) {
    const spec = match[2] ?? '';
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
    edges.push({ to: target, typeOnly: match[1] !== undefined });
  }
  return edges;
}

const files = sourceFiles();
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const layer = (file: string) => file.split('/')[0] ?? '';
/** `src/server/x.ts` → `src/server`; other folders are one room each. */
const room = (file: string) => {
  const parts = file.split('/');
  return parts[0] === 'src' && parts.length > 2 ? `src/${parts[1]}` : (parts[0] ?? '');
};

describe('layers', () => {
  it('finds the source files and their imports', () => {
    expect(files).toContain('src/cli/main.ts');
    expect(graph.get('src/server/server.ts')?.length).toBeGreaterThan(3);
  });

  it('machines import only machines; actors never import src/ or offline/; lib imports nothing of ours; the simulators import nothing of the server', () => {
    const allowed: Record<string, string[]> = {
      machines: ['machines'],
      actors: ['machines', 'actors', 'lib'],
      lib: ['lib'],
      // The simulators speak the providers' wire formats; only the machine's event types are shared.
      offline: ['offline', 'lib', 'machines'],
    };
    const wrong: string[] = [];
    for (const [file, edges] of graph) {
      const rule = allowed[layer(file)];
      if (rule === undefined) continue;
      for (const edge of edges) if (!rule.includes(layer(edge.to))) wrong.push(`${file} → ${edge.to}`);
    }
    expect(wrong).toEqual([]);
  });

  it('the rooms of src/ point one way: cli → api → harness → server → console, replay, agent, records, twilio → shared', () => {
    // Each room may import the rooms listed after it (and machines, actors, lib); none imports one listed before it.
    const order = ['src/cli', 'src/api', 'src/harness', 'src/server', 'src/console', 'src/replay', 'src/agent', 'src/records', 'src/twilio', 'src/shared'];
    const back: string[] = [];
    for (const [file, edges] of graph) {
      const from = order.indexOf(room(file));
      if (from < 0) continue;
      for (const edge of edges) {
        const to = order.indexOf(room(edge.to));
        if (to >= 0 && to < from) back.push(`${file} → ${edge.to}`);
      }
    }
    expect(back).toEqual([]);
  });

  it('the production start-up path (src/cli/main.ts, runtime imports) never loads the offline world', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const edge of graph.get(file) ?? []) if (!edge.typeOnly) visit(edge.to);
    };
    visit('src/cli/main.ts');
    expect(seen.size).toBeGreaterThan(10);
    expect([...seen].filter((file) => layer(file) === 'offline' || room(file) === 'src/harness')).toEqual([]);
  });

  it('has no import cycles (type-only imports included)', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...stack.slice(stack.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      stack.push(file);
      for (const edge of graph.get(file) ?? []) if (graph.has(edge.to)) visit(edge.to);
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) visit(file);
    expect(cycles).toEqual([]);
  });
});
