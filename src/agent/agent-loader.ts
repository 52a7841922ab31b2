/**
 * Loads an agent module (`AGENT=path/to/agent.ts`): its default export must be `defineAgent({...})`. TypeScript
 * agents are loaded with tsx's `tsImport`, so the built server (`node dist/src/cli/main.js`) runs them as they are.
 * Whatever is wrong fails here, at start, with one line naming the file — never at the first call.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { isAgent, type Agent } from './agent.js';

export class AgentLoadError extends Error {
  constructor(file: string, detail: string) {
    super(`AGENT=${file}: ${detail}`);
    this.name = 'AgentLoadError';
  }
}

/** The bundled example: a front desk that can look up orders. */
export const DEFAULT_AGENT = 'agents/front-desk.ts';

/**
 * Where the bundled example is for this copy of the engine: its source beside the sources (tsx, tests), its compiled
 * module beside the build (`dist/agents/front-desk.js`: the installed package ships no agent sources).
 */
export function bundledAgentFile(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`../../agents/front-desk.${ext}`, import.meta.url));
}

export async function loadAgent(file: string = DEFAULT_AGENT): Promise<Agent> {
  // A path given by the operator is relative to where they run the server; the bundled default is the engine's own.
  const absolute = file === DEFAULT_AGENT ? bundledAgentFile() : path.resolve(process.cwd(), file);
  const agent = (await importUserModule(absolute, process.cwd(), (detail) => new AgentLoadError(file, detail))).default;
  if (!isAgent(agent)) throw new AgentLoadError(file, 'the default export must be defineAgent({...})');
  return agent;
}

/** Is `file` the bundled example agent (however the path was spelled)? */
export function isDefaultAgent(file: string | undefined): boolean {
  return file === undefined || file === DEFAULT_AGENT || path.resolve(file) === bundledAgentFile();
}

/**
 * Imports a developer's module (an agent, an offline script): `.ts` through tsx, JavaScript natively; every failure
 * becomes `fail(detail)` with what went wrong and where.
 */
export async function importUserModule(file: string, base: string, fail: (detail: string) => Error): Promise<{ default?: unknown }> {
  const absolute = path.resolve(base, file);
  if (!fs.existsSync(absolute)) throw fail(`no such file (${absolute})`);
  // Stack traces through the developer's own lines (tsx emits source maps; Node maps them only when told to), so a
  // failure at load — and later in a tool — points at their file:line:column.
  process.setSourceMapsEnabled(true);
  let module: { default?: unknown };
  try {
    module = /\.[mc]?ts$/.test(absolute)
      ? ((await tsImport(pathToFileURL(absolute).href, import.meta.url)) as { default?: unknown })
      : ((await import(pathToFileURL(absolute).href)) as { default?: unknown });
  } catch (err) {
    throw fail(`the module failed to load: ${describeLoadFailure(err, absolute)}`);
  }
  // A .ts file outside an ESM package is compiled to CommonJS: its `export default` arrives one level down.
  const inner = module.default;
  if (typeof inner === 'object' && inner !== null && '__esModule' in inner && 'default' in inner) return { default: inner.default };
  return module;
}

/** Lines of a load error worth showing: esbuild's `file:line:col: ERROR: …` lines are kept, stack noise is not. */
const MAX_MESSAGE_LINES = 4;

/**
 * What went wrong and where: the error's own message (its first few lines — a syntax error's location is on the
 * second), plus the first stack frame inside the agent's module when the message does not already name it.
 */
export function describeLoadFailure(err: unknown, absoluteFile: string): string {
  if (!(err instanceof Error)) return String(err);
  const lines = err.message.split('\n').map((line) => line.trimEnd()).filter((line) => line.trim() !== '');
  const shown = lines.slice(0, MAX_MESSAGE_LINES);
  if (lines.length > MAX_MESSAGE_LINES) shown.push(`…(${lines.length - MAX_MESSAGE_LINES} more lines)`);
  let text = shown.join('\n  ').replaceAll(absoluteFile, path.relative(process.cwd(), absoluteFile));
  if (!err.message.includes(absoluteFile)) {
    const frame = (err.stack ?? '').split('\n').find((line) => line.includes(absoluteFile));
    const at = frame?.match(/(\d+):(\d+)\)?\s*$/);
    if (at) text += ` (at ${path.relative(process.cwd(), absoluteFile)}:${at[1]}:${at[2]})`;
  }
  return text;
}
