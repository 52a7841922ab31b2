/** Types and helpers shared by the OpenAI and Anthropic wire formats of the LLM simulator. */

export type LlmSimProvider = 'openai' | 'anthropic';

/**
 * One tool result the request ends with: OpenAI `role: "tool"` messages, Anthropic `tool_result` blocks. `name` is
 * the tool's name, found through the matching call (OpenAI `tool_calls` id, Anthropic `tool_use` id) since neither
 * wire repeats it in the result. OpenAI has no error flag, so `isError` is only ever true on Anthropic.
 */
export interface SeenToolResult {
  id: string;
  name: string;
  content: string;
  isError: boolean;
}

/** What the simulator understood of one request body. */
export interface ParsedLlmRequest {
  provider: LlmSimProvider;
  model: string;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Anthropic `system`; for OpenAI the system/developer messages joined. */
  system: string | undefined;
  /** The `messages` array exactly as received. */
  messages: unknown[];
  tools: unknown[];
  /** The names of the tools offered (`tools[].function.name` / `tools[].name`). */
  toolNames: string[];
  /** The caller's last words: the last user text, skipping tool results (Anthropic sends those as user messages). */
  lastUserText: string;
  /**
   * The tool results that end the request, after the last real user text (empty when the request ends with user
   * text): what a scripted model answers after a tool round.
   */
  toolResults: SeenToolResult[];
  maxTokens: number | undefined;
  temperature: number | undefined;
}

/** One SSE frame, written whole. `paced` frames carry one generated token and wait for the token interval. */
export interface SseFrame {
  text: string;
  paced: boolean;
}

/** An HTTP error answer in the provider's JSON shape. */
export interface WireError {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export function isWireError(value: ParsedLlmRequest | WireError): value is WireError {
  return 'status' in value && 'body' in value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of a message `content`: a string, or the `text` of each text part/block joined. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isRecord)
    .map((part) => (part['type'] === 'text' && typeof part['text'] === 'string' ? part['text'] : ''))
    .filter((t) => t !== '')
    .join('\n');
}
