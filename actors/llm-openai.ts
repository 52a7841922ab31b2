/**
 * OpenAI chat completions (`openai` v6, `stream: true`) → provider-neutral stream events.
 * Tool calls arrive as `delta.tool_calls[]` fragments keyed by `index` (id and name first, then the arguments in
 * pieces); a call is complete when another index starts or a `finish_reason` arrives.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ChatMessage } from '../machines/events.js';
import type { LlmStreamEvent, LlmStreamer, LlmUsage, ResolvedLlmOptions } from './llm-types.js';
import { nonEmptyMessages } from './llm-types.js';
import { openAiTools, toolCallEvent } from './llm-tools.js';
import { llmFetchOptions } from './llm-http.js';

interface PendingToolCall {
  id: string;
  name: string;
  args: string;
}

/**
 * OpenAI takes the system prompt as the first message, so the conversation maps one to one: a tool round is an
 * assistant message with `tool_calls` (content null when it said nothing) and one `role: "tool"` message per call.
 */
export function toOpenAiMessages(messages: readonly ChatMessage[]): ChatCompletionMessageParam[] {
  return nonEmptyMessages(messages).map((m): ChatCompletionMessageParam => {
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    if (m.role === 'assistant' && m.toolCalls !== undefined && m.toolCalls.length > 0) {
      return {
        role: 'assistant',
        content: m.content.trim() === '' ? null : m.content,
        tool_calls: m.toolCalls.map((call) => ({
          id: call.id,
          type: 'function' as const,
          function: { name: call.name, arguments: JSON.stringify(call.args) },
        })),
      };
    }
    return { role: m.role, content: m.content };
  });
}

export function createOpenAiStreamer(opts: ResolvedLlmOptions): LlmStreamer {
  const client = new OpenAI({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    maxRetries: opts.maxRetries,
    timeout: opts.timeoutMs,
    // Connections stay warm between turns (see llm-http.ts).
    ...llmFetchOptions,
  });

  return async function* streamOpenAi(request, signal): AsyncGenerator<LlmStreamEvent> {
    const stream = await client.chat.completions.create(
      {
        model: opts.model,
        messages: toOpenAiMessages(request.messages),
        ...(request.tools.length > 0 ? { tools: openAiTools(request.tools) } : {}),
        stream: true,
        stream_options: { include_usage: true },
        max_completion_tokens: opts.maxTokens,
        ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
      },
      { signal },
    );

    const pending = new Map<number, PendingToolCall>();
    let finishReason: string | null = null;
    const flushToolCalls = function* (): Generator<LlmStreamEvent> {
      const indexes = [...pending.keys()].sort((a, b) => a - b);
      for (const index of indexes) {
        const call = pending.get(index);
        pending.delete(index);
        if (call) yield toolCallEvent(call.id, call.name, call.args);
      }
    };

    let usage: LlmUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
      const choice = chunk.choices[0];
      if (!choice) continue; // the trailing usage chunk has no choices
      const delta = choice.delta;
      if (typeof delta.content === 'string' && delta.content !== '') yield { type: 'text', text: delta.content };
      for (const fragment of delta.tool_calls ?? []) {
        // A new index means every earlier call is complete: emit those now rather than at the end.
        for (const index of [...pending.keys()]) {
          if (index < fragment.index) {
            const done = pending.get(index);
            pending.delete(index);
            if (done) yield toolCallEvent(done.id, done.name, done.args);
          }
        }
        const call = pending.get(fragment.index) ?? { id: '', name: '', args: '' };
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name) call.name += fragment.function.name;
        if (fragment.function?.arguments) call.args += fragment.function.arguments;
        pending.set(fragment.index, call);
      }
      if (choice.finish_reason) {
        finishReason = choice.finish_reason;
        yield* flushToolCalls();
      }
    }
    if (signal.aborted) return;
    // The SDK ends quietly when the body ends early; only a finish_reason proves the reply is whole.
    if (finishReason === null) throw new Error('OpenAI stream ended before a finish_reason');
    yield { type: 'done', finishReason, ...(usage ? { usage } : {}) };
  };
}

