/**
 * The agent's built-in tools, defined once and translated to each provider's schema, plus the helpers both
 * provider adapters use to turn streamed argument fragments into arguments.
 */
/** The built-in tools (the agent registry replaces this list). */
export type ToolName = 'end_call' | 'transfer_call';
import type { LlmStreamEvent } from './llm-types.js';

/**
 * A JSON-schema object for one tool's arguments (the subset both providers accept). A type alias, not an
 * interface, so it fits the SDKs' index-signature schema types.
 */
export type ToolParameters = {
  type: 'object';
  properties: Record<string, { type: 'string'; description: string }>;
  required: string[];
  additionalProperties: false;
};

export interface ToolDefinition {
  name: ToolName;
  description: string;
  parameters: ToolParameters;
}

export const BUILT_IN_TOOLS: readonly ToolDefinition[] = [
  {
    name: 'end_call',
    description:
      'Hang up the phone call. Use it only after you have said goodbye, when the caller wants to end the call or the conversation is clearly over.',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', description: 'Why the call is ending, in a few words.' } },
      required: [],
      additionalProperties: false,
    },
  },
  {
    name: 'transfer_call',
    description:
      'Transfer the caller to a human at the given phone number. Tell the caller you are transferring them before using it.',
    parameters: {
      type: 'object',
      properties: { to: { type: 'string', description: 'The phone number to transfer to, in E.164 form, e.g. +15551234567.' } },
      required: ['to'],
      additionalProperties: false,
    },
  },
];

export function isToolName(name: string): name is ToolName {
  return BUILT_IN_TOOLS.some((tool) => tool.name === name);
}

/** OpenAI chat completions `tools` entries. */
export function openAiTools(): Array<{ type: 'function'; function: { name: string; description: string; parameters: Record<string, unknown> } }> {
  return BUILT_IN_TOOLS.map((tool) => ({
    type: 'function' as const,
    function: { name: tool.name, description: tool.description, parameters: { ...tool.parameters } },
  }));
}

/** Anthropic messages `tools` entries. */
export function anthropicTools(): Array<{ name: string; description: string; input_schema: ToolParameters }> {
  return BUILT_IN_TOOLS.map((tool) => ({ name: tool.name, description: tool.description, input_schema: tool.parameters }));
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
