/**
 * Anthropic messages on the wire: request parsing, the SSE event sequence (`message_start`, `content_block_start`,
 * `ping`, `content_block_delta` text_delta / input_json_delta, `content_block_stop`, `message_delta`,
 * `message_stop`), the non-streaming Message body and the error JSON — shaped as `@anthropic-ai/sdk` parses them.
 */
import { randomBytes } from 'node:crypto';
import { argumentsJson, countTokens, replyTokens, splitArguments, tokenize, type LlmScriptToolCall, type PlannedReply } from './llm-script.js';
import { anthropicToolHistory, isToolHistoryProblem } from './llm-tool-history.js';
import type { ParsedLlmRequest, SseFrame, WireError } from './llm-wire.js';
import { isRecord, textOf } from './llm-wire.js';

export function parseAnthropicRequest(body: unknown): ParsedLlmRequest | WireError {
  if (!isRecord(body)) return anthropicError(400, 'invalid_request_error', 'The request body is not valid JSON.');
  const { model, messages, tools, stream, system } = body;
  if (typeof model !== 'string' || model === '') return anthropicError(400, 'invalid_request_error', 'model: Field required');
  if (typeof body['max_tokens'] !== 'number') return anthropicError(400, 'invalid_request_error', 'max_tokens: Field required');
  if (!Array.isArray(messages)) return anthropicError(400, 'invalid_request_error', 'messages: Field required');
  const records = messages.filter(isRecord);
  // The real API rejects these; the simulator does too so a client that breaks the rules fails in tests.
  if (records.some((m) => m['role'] !== 'user' && m['role'] !== 'assistant')) {
    return anthropicError(400, 'invalid_request_error', 'messages: Unexpected role. Use the top-level `system` parameter for a system prompt.');
  }
  if (records.length === 0 || records[0]?.['role'] !== 'user') {
    return anthropicError(400, 'invalid_request_error', 'messages: first message must use the "user" role');
  }
  for (let i = 1; i < records.length; i += 1) {
    if (records[i]?.['role'] === records[i - 1]?.['role']) {
      return anthropicError(400, 'invalid_request_error', 'messages: roles must alternate between "user" and "assistant"');
    }
  }
  // Every message needs words, except an optional final assistant message (a prefill).
  const isEmpty = (c: unknown): boolean => (typeof c === 'string' ? c.trim() === '' : !Array.isArray(c) || c.length === 0);
  const emptyIndex = records.findIndex((m) => isEmpty(m['content']));
  if (emptyIndex >= 0 && !(emptyIndex === records.length - 1 && records[emptyIndex]?.['role'] === 'assistant')) {
    return anthropicError(400, 'invalid_request_error', `messages.${emptyIndex}: text content blocks must be non-empty`);
  }
  const history = anthropicToolHistory(messages);
  if (isToolHistoryProblem(history)) return anthropicError(400, 'invalid_request_error', history.problem);
  // Tool results travel in user messages: the caller's last words are in the last user message with text.
  const lastUser = [...records].reverse().find((m) => m['role'] === 'user' && hasText(m['content']));
  return {
    provider: 'anthropic',
    model,
    stream: stream === true,
    includeUsage: false,
    system: typeof system === 'string' ? system : Array.isArray(system) ? textOf(system) : undefined,
    messages,
    tools: Array.isArray(tools) ? tools : [],
    toolNames: Array.isArray(tools) ? tools.filter(isRecord).flatMap((t) => (typeof t['name'] === 'string' ? [t['name']] : [])) : [],
    lastUserText: lastUser ? textOf(lastUser['content']) : '',
    toolResults: history.toolResults,
    maxTokens: body['max_tokens'],
    temperature: typeof body['temperature'] === 'number' ? body['temperature'] : undefined,
  };
}

/** A plain string, or content with at least one text block (not only tool results). */
function hasText(content: unknown): boolean {
  return typeof content === 'string' || (Array.isArray(content) && content.some((block) => isRecord(block) && block['type'] === 'text'));
}

/** `{"type":"error","error":{"type","message"},"request_id"}` with a `request-id` header. */
export function anthropicError(status: number, type: string, message: string): WireError {
  const requestId = `req_${randomBytes(12).toString('base64url')}`;
  return { status, headers: { 'request-id': requestId }, body: { type: 'error', error: { type, message }, request_id: requestId } };
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

export function anthropicErrorForStatus(status: number, message: string): WireError {
  return anthropicError(status, ERROR_TYPES[status] ?? 'api_error', message);
}

function newIds(calls: readonly LlmScriptToolCall[]) {
  return {
    id: `msg_${randomBytes(12).toString('base64url')}`,
    toolIds: calls.map((call) => call.id ?? `toolu_${randomBytes(12).toString('base64url')}`),
  };
}

function usageOf(req: ParsedLlmRequest, reply: PlannedReply) {
  const input = countTokens(JSON.stringify(req.messages)) + countTokens(req.system ?? '');
  return { input, output: replyTokens(reply) };
}

export function anthropicStreamFrames(req: ParsedLlmRequest, reply: PlannedReply): { frames: SseFrame[]; errorFrame: string } {
  const ids = newIds(reply.toolCalls);
  const usage = usageOf(req, reply);
  const frames: SseFrame[] = [];
  const add = (type: string, body: Record<string, unknown>, paced = false): void => {
    frames.push({ text: event(type, { type, ...body }), paced });
  };
  add('message_start', {
    message: {
      id: ids.id,
      type: 'message',
      role: 'assistant',
      model: req.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      usage: {
        input_tokens: usage.input,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 1,
        service_tier: 'standard',
      },
    },
  });
  let index = 0;
  let pinged = false;
  const ping = (): void => {
    if (!pinged) frames.push({ text: event('ping', { type: 'ping' }), paced: false });
    pinged = true;
  };
  const hasCalls = reply.toolCalls.length > 0;
  if (reply.text !== '' || !hasCalls) {
    add('content_block_start', { index, content_block: { type: 'text', text: '' } });
    ping();
    for (const token of tokenize(reply.text)) add('content_block_delta', { index, delta: { type: 'text_delta', text: token } }, true);
    add('content_block_stop', { index });
    index += 1;
  }
  // One tool_use block per call: opened with `input: {}`, its JSON streamed as input_json_delta fragments, closed.
  reply.toolCalls.forEach((call, i) => {
    add('content_block_start', { index, content_block: { type: 'tool_use', id: ids.toolIds[i], name: call.name, input: {} } }, true);
    ping();
    add('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
    for (const fragment of splitArguments(argumentsJson(call))) {
      add('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: fragment } }, true);
    }
    add('content_block_stop', { index });
    index += 1;
  });
  add('message_delta', {
    delta: { stop_reason: hasCalls ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: usage.output },
  });
  add('message_stop', {});
  const errorFrame = event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  return { frames, errorFrame };
}

/** The non-streaming Message body. */
export function anthropicMessage(req: ParsedLlmRequest, reply: PlannedReply): Record<string, unknown> {
  const ids = newIds(reply.toolCalls);
  const usage = usageOf(req, reply);
  const hasCalls = reply.toolCalls.length > 0;
  const content: unknown[] = [];
  if (reply.text !== '' || !hasCalls) content.push({ type: 'text', text: reply.text });
  reply.toolCalls.forEach((call, i) => content.push({ type: 'tool_use', id: ids.toolIds[i], name: call.name, input: call.args }));
  return {
    id: ids.id,
    type: 'message',
    role: 'assistant',
    model: req.model,
    content,
    stop_reason: hasCalls ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    stop_details: null,
    usage: { input_tokens: usage.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: usage.output, service_tier: 'standard' },
  };
}

function event(type: string, body: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(body)}\n\n`;
}
