/**
 * Anthropic messages (`@anthropic-ai/sdk`, `stream: true`) → provider-neutral stream events.
 * A tool call is a `tool_use` content block whose input arrives as `input_json_delta` fragments; it is complete at
 * that block's `content_block_stop`. The reply is whole only once `message_stop` arrives.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import type { ChatMessage } from '../machines/events.js';
import type { LlmStreamEvent, LlmStreamer, ResolvedLlmOptions } from './llm-types.js';
import { nonEmptyMessages } from './llm-types.js';
import { anthropicTools, toolCallEvent } from './llm-tools.js';
import { llmFetchOptions } from './llm-http.js';

/**
 * Anthropic wants a user message first. A call usually starts with the agent's greeting, so a conversation may begin
 * with the assistant: this stands in for the caller picking up.
 */
export const CALL_STARTED_USER_TEXT = '(The caller has picked up the phone.)';

export interface AnthropicConversation {
  system: string | undefined;
  messages: MessageParam[];
}

type Block = Exclude<MessageParam['content'], string>[number];
type Turn = { role: 'user' | 'assistant'; blocks: Block[] };

/**
 * System messages become the `system` parameter; the rest must alternate user/assistant and start with user, so
 * consecutive same-role messages are merged (e.g. two caller utterances when a reply was cancelled). A tool round is
 * an assistant message of `text` + `tool_use` blocks, and its results are `tool_result` blocks of the next user
 * message — placed first in it, as Anthropic requires.
 */
export function toAnthropicConversation(messages: readonly ChatMessage[]): AnthropicConversation {
  const kept = nonEmptyMessages(messages);
  const systemParts: string[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn['role'], blocks: Block[]): void => {
    const last = turns[turns.length - 1];
    if (last && last.role === role) {
      const results = [...last.blocks, ...blocks].filter((b) => b.type === 'tool_result');
      const rest = [...last.blocks, ...blocks].filter((b) => b.type !== 'tool_result');
      last.blocks = [...results, ...rest];
    } else turns.push({ role, blocks });
  };
  for (const m of kept) {
    if (m.role === 'system') systemParts.push(m.content);
    else if (m.role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content, ...(m.isError ? { is_error: true } : {}) }]);
    } else if (m.role === 'assistant') {
      const text: Block[] = m.content.trim() === '' ? [] : [{ type: 'text', text: m.content }];
      const calls: Block[] = (m.toolCalls ?? []).map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: call.args }));
      push('assistant', [...text, ...calls]);
    } else push('user', [{ type: 'text', text: m.content }]);
  }
  if (turns[0]?.role === 'assistant') turns.unshift({ role: 'user', blocks: [{ type: 'text', text: CALL_STARTED_USER_TEXT }] });
  return {
    system: systemParts.length > 0 ? systemParts.join('\n\n') : undefined,
    messages: turns.map((turn) => ({ role: turn.role, content: plainOrBlocks(turn.blocks) })),
  };
}

/** Text-only turns stay plain strings (joined by newlines), as before tools existed. */
function plainOrBlocks(blocks: Block[]): MessageParam['content'] {
  const texts = blocks.map((b) => (b.type === 'text' ? b.text : null));
  return texts.every((t): t is string => t !== null) ? texts.join('\n') : blocks;
}

interface PendingToolUse {
  id: string;
  name: string;
  args: string;
  /** The block's initial `input` (normally `{}`; used when no fragments follow). */
  initialInput: unknown;
}

export function createAnthropicStreamer(opts: ResolvedLlmOptions): LlmStreamer {
  const client = new Anthropic({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    maxRetries: opts.maxRetries,
    timeout: opts.timeoutMs,
    // Connections stay warm between turns (see llm-http.ts).
    ...llmFetchOptions,
  });

  return async function* streamAnthropic(request, signal): AsyncGenerator<LlmStreamEvent> {
    const conversation = toAnthropicConversation(request.messages);
    const stream = await client.messages.create(
      {
        model: opts.model,
        max_tokens: opts.maxTokens,
        messages: conversation.messages,
        ...(request.tools.length > 0 ? { tools: anthropicTools(request.tools) } : {}),
        stream: true,
        ...(conversation.system !== undefined ? { system: conversation.system } : {}),
        ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
      },
      { signal },
    );

    const pending = new Map<number, PendingToolUse>();
    let stopReason: string | null = null;
    let stopped = false;
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    for await (const event of stream) {
      switch (event.type) {
        case 'message_start':
          inputTokens = event.message.usage.input_tokens;
          outputTokens = event.message.usage.output_tokens;
          break;
        case 'content_block_start': {
          const block = event.content_block;
          if (block.type === 'tool_use') {
            pending.set(event.index, { id: block.id, name: block.name, args: '', initialInput: block.input });
          } else if (block.type === 'text' && block.text !== '') {
            yield { type: 'text', text: block.text };
          }
          break;
        }
        case 'content_block_delta': {
          const delta = event.delta;
          if (delta.type === 'text_delta' && delta.text !== '') yield { type: 'text', text: delta.text };
          else if (delta.type === 'input_json_delta') {
            const call = pending.get(event.index);
            if (call) call.args += delta.partial_json;
          }
          break;
        }
        case 'content_block_stop': {
          const call = pending.get(event.index);
          if (call) {
            pending.delete(event.index);
            yield toolCallEvent(call.id, call.name, argumentsOf(call));
          }
          break;
        }
        case 'message_delta':
          stopReason = event.delta.stop_reason ?? stopReason;
          outputTokens = event.usage.output_tokens; // cumulative
          break;
        case 'message_stop':
          stopped = true;
          break;
        default:
          break;
      }
    }
    if (signal.aborted) return;
    if (!stopped) throw new Error('Anthropic stream ended before message_stop');
    const usage = inputTokens !== undefined && outputTokens !== undefined ? { usage: { inputTokens, outputTokens } } : {};
    yield { type: 'done', finishReason: stopReason ?? 'end_turn', ...usage };
  };
}

/** An empty `input_json_delta` stream means the block's initial `input` holds the arguments. */
function argumentsOf(call: PendingToolUse): string {
  return call.args === '' && call.initialInput !== undefined ? JSON.stringify(call.initialInput) : call.args;
}
