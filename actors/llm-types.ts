/**
 * Types shared by the LLM client, its provider adapters and the per-turn actor (kept apart from `llm-client.ts`
 * so the adapters do not import the module that imports them).
 */
import type { ChatMessage, LlmToolSpec } from '../machines/events.js';

export type LlmProvider = 'openai' | 'anthropic';

export interface LlmClientOptions {
  provider: LlmProvider;
  apiKey: string;
  /** Provider base URL; when absent the SDK reads OPENAI_BASE_URL / ANTHROPIC_BASE_URL, then its default. */
  baseURL?: string;
  model: string;
  /** Output token cap. Default 512: phone replies are short. */
  maxTokens?: number;
  temperature?: number;
  /** Default 0: for a phone call a fast spoken apology beats a slow retry. */
  maxRetries?: number;
  /** SDK request timeout (until the response headers arrive). Default 30 000 ms. */
  timeoutMs?: number;
}

/** A provider-neutral stream event. */
export type LlmStreamEvent =
  | { type: 'text'; text: string }
  /** A tool call whose arguments are complete. `argsError` set = the JSON was bad and `args` is `{}`. */
  | { type: 'tool_call'; id: string; name: string; args: Record<string, unknown>; argsError?: string }
  /** The provider finished the response normally (`finishReason` is the provider's own word). */
  | { type: 'done'; finishReason: string; usage?: LlmUsage };

/** Tokens of one response, as the provider counted them (absent when it did not say). */
export interface LlmUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface LlmClient {
  readonly provider: LlmProvider;
  readonly model: string;
  /**
   * Streams one response. Ends after `done`; throws on HTTP, network or protocol errors (including a stream that
   * ends without the provider's end marker). When `signal` aborts, the iteration ends quietly without `done`.
   */
  stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmStreamEvent>;
}

/** One inference request: the conversation (system prompt first) and the tools offered. */
export interface LlmRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly LlmToolSpec[];
}

/** The resolved settings each provider adapter receives. */
export interface ResolvedLlmOptions {
  apiKey: string;
  baseURL: string | undefined;
  model: string;
  maxTokens: number;
  temperature: number | undefined;
  maxRetries: number;
  timeoutMs: number;
}

export type LlmStreamer = (request: LlmRequest, signal: AbortSignal) => AsyncIterable<LlmStreamEvent>;

/**
 * Messages with no words carry nothing and some providers reject empty content: drop them. A tool-call message
 * stays whatever its text (its calls are the content), and so does a tool result.
 */
export function nonEmptyMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.filter(
    (m) => m.role === 'tool' || (m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0) || m.content.trim() !== '',
  );
}
