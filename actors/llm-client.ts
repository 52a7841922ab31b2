/**
 * One LLM client per process, wrapping the real provider SDK (`openai` v6 chat completions or `@anthropic-ai/sdk`
 * messages), exposing one provider-neutral stream per turn. The per-turn actor (`llm.ts`) consumes it.
 */
import { createAnthropicStreamer } from './llm-anthropic.js';
import { createOpenAiStreamer } from './llm-openai.js';
import type { LlmClient, LlmClientOptions, ResolvedLlmOptions } from './llm-types.js';

export type { LlmClient, LlmClientOptions, LlmProvider, LlmStreamEvent } from './llm-types.js';

export const DEFAULT_MAX_TOKENS = 512;
export const DEFAULT_LLM_TIMEOUT_MS = 30_000;

export function createLlmClient(opts: LlmClientOptions): LlmClient {
  const resolved: ResolvedLlmOptions = {
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    model: opts.model,
    maxTokens: opts.maxTokens ?? DEFAULT_MAX_TOKENS,
    temperature: opts.temperature,
    maxRetries: opts.maxRetries ?? 0,
    timeoutMs: opts.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
  };
  const streamer = opts.provider === 'openai' ? createOpenAiStreamer(resolved) : createAnthropicStreamer(resolved);
  return { provider: opts.provider, model: opts.model, stream: streamer };
}
