/**
 * The tools offered to the model, translated to each provider's schema, plus the helpers both provider adapters use
 * to turn streamed argument fragments into arguments. The tools themselves come in each request (the agent's
 * registry, per call); their parameters are JSON Schema objects made from the tools' zod schemas.
 */
import type { LlmToolSpec } from '../machines/events.js';
import type { LlmStreamEvent } from './llm-types.js';

/** Anthropic wants `input_schema` with `type: "object"`; the agent API only accepts object schemas. */
type ObjectSchema = { type: 'object'; [key: string]: unknown };

function objectSchema(parameters: LlmToolSpec['parameters']): ObjectSchema {
  return { ...parameters, type: 'object' };
}

/** OpenAI chat completions `tools` entries. */
export function openAiTools(
  tools: readonly LlmToolSpec[],
): Array<{ type: 'function'; function: { name: string; description: string; parameters: Record<string, unknown> } }> {
  return tools.map((tool) => ({
    type: 'function' as const,
    function: { name: tool.name, description: tool.description, parameters: objectSchema(tool.parameters) },
  }));
}

/** Anthropic messages `tools` entries. */
export function anthropicTools(tools: readonly LlmToolSpec[]): Array<{ name: string; description: string; input_schema: ObjectSchema }> {
  return tools.map((tool) => ({ name: tool.name, description: tool.description, input_schema: objectSchema(tool.parameters) }));
}

export interface ParsedToolArguments {
  args: Record<string, unknown>;
  /** Set when the streamed JSON was not an object: `args` is then `{}`. */
  error?: string;
}

/** Parses the concatenated argument fragments of one tool call. Empty text means "no arguments". */
export function parseToolArguments(json: string): ParsedToolArguments {
  if (json.trim() === '') return { args: {} };
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return { args: value as Record<string, unknown> };
    }
    return { args: {}, error: `tool arguments are not a JSON object: ${json.slice(0, 200)}` };
  } catch (err) {
    return { args: {}, error: `tool arguments are not valid JSON (${(err as Error).message}): ${json.slice(0, 200)}` };
  }
}

/** A completed tool call as a stream event: its streamed JSON arguments parsed (bad JSON → `{}` and `argsError`). */
export function toolCallEvent(id: string, name: string, argsJson: string): LlmStreamEvent {
  const parsed = parseToolArguments(argsJson);
  return { type: 'tool_call', id, name, args: parsed.args, ...(parsed.error !== undefined ? { argsError: parsed.error } : {}) };
}
