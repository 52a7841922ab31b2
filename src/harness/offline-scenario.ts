/**
 * A scripted offline world for any agent, in the one shape `simulateCall` takes: the caller's lines and the model's
 * steps. `npm start` offline (OFFLINE_SCRIPT), the demo and `npm run call -- --offline` (`--script file`) all read it,
 * so a developer runs *their* agent end to end offline with the same script their tests use.
 *
 * A `.ts`/`.js` module default-exports `{ caller, model }` (or just the model's steps, an array); a `.json` file holds
 * the same, where a `when`/`afterTool` string is a case-insensitive substring (an exact tool name for `afterTool`)
 * and `"/regex/flags"` is a regular expression.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { LlmScriptEntry } from '../../offline/llm-script.js';
import type { ScriptStep } from '../../offline/twilio-caller-types.js';
import { importUserModule } from '../agent/agent-loader.js';
import { errorMessage } from '../../lib/logger.js';

export interface OfflineScenario {
  /** What the caller says (strings) or does (steps); absent = the caller of whoever runs it. */
  caller?: ReadonlyArray<string | ScriptStep>;
  /** The model's steps, first match wins; absent = the generic offline model. */
  model?: LlmScriptEntry[];
}

export class ScenarioLoadError extends Error {
  constructor(label: string, file: string, detail: string) {
    super(`${label}=${file}: ${detail}`);
    this.name = 'ScenarioLoadError';
  }
}

const pattern = z.string().transform((text): string | RegExp => {
  const literal = /^\/(.+)\/([a-z]*)$/s.exec(text);
  return literal ? new RegExp(literal[1] ?? '', literal[2]) : text;
});
const toolCall = z.object({ name: z.string().min(1), args: z.record(z.string(), z.unknown()).default({}), id: z.string().optional() });
const jsonEntry = z
  .object({
    when: pattern.optional(),
    afterTool: pattern.optional(),
    provider: z.enum(['openai', 'anthropic']).optional(),
    text: z.string().optional(),
    toolCall: toolCall.optional(),
    toolCalls: z.array(toolCall).optional(),
    once: z.boolean().optional(),
  })
  .strict();
const jsonStep = z.union([
  z.string(),
  z.object({ say: z.string(), hesitationMs: z.number().optional() }).strict(),
  z.object({ pause: z.number() }).strict(),
  z.object({ waitForAgent: z.enum(['speaking', 'silent', 'mark', 'reply']), timeoutMs: z.number().optional() }).strict(),
  z.object({ bargeIn: z.string(), afterMs: z.number().optional(), timeoutMs: z.number().optional() }).strict(),
  z.object({ hangup: z.literal(true) }).strict(),
  z.object({ dtmf: z.string(), gapMs: z.number().optional() }).strict(),
]);
const jsonScenario = z.object({ caller: z.array(jsonStep).optional(), model: z.array(jsonEntry).optional() }).strict();
const jsonModel = z.array(jsonEntry).transform((model) => ({ model }));

/** `label` names where the path came from in errors (`OFFLINE_SCRIPT`, `--script`). */
export async function loadOfflineScenario(file: string, label = '--script'): Promise<OfflineScenario> {
  const fail = (detail: string) => new ScenarioLoadError(label, file, detail);
  let value: unknown;
  if (file.endsWith('.json')) {
    const absolute = path.resolve(file);
    if (!fs.existsSync(absolute)) throw fail(`no such file (${absolute})`);
    try {
      value = JSON.parse(fs.readFileSync(absolute, 'utf8'));
    } catch (err) {
      throw fail(`not valid JSON: ${errorMessage(err)}`);
    }
    // Checked against the shape the value has, so the error names the field that is wrong.
    const parsed = Array.isArray(value) ? jsonModel.safeParse(value) : jsonScenario.safeParse(value);
    if (!parsed.success) {
      const problem = parsed.error.issues[0];
      throw fail(`${problem?.path.join('.') || '(top)'}: ${problem?.message ?? 'not a scenario'} (expected { caller: [...], model: [...] })`);
    }
    return parsed.data as OfflineScenario;
  }
  value = (await importUserModule(file, process.cwd(), fail)).default;
  if (Array.isArray(value)) return { model: value as LlmScriptEntry[] };
  if (typeof value === 'object' && value !== null) {
    const { caller, model } = value as { caller?: unknown; model?: unknown };
    if ((caller === undefined || Array.isArray(caller)) && (model === undefined || Array.isArray(model))) {
      return { caller: caller as OfflineScenario['caller'], model: model as OfflineScenario['model'] };
    }
  }
  throw fail('the default export must be { caller?: [...], model?: [...] } or an array of model steps');
}
