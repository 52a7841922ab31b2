/**
 * OpenAI chat completions on the wire: request parsing, `chat.completion.chunk` SSE frames, the non-streaming
 * `chat.completion` body and the error JSON — shaped as the `openai` SDK parses them.
 */
import { randomBytes } from 'node:crypto';
import { argumentsJson, countTokens, replyTokens, splitArguments, tokenize, type LlmScriptToolCall, type PlannedReply } from './llm-script.js';
import { isToolHistoryProblem, openAiToolHistory } from './llm-tool-history.js';
import type { ParsedLlmRequest, SseFrame, WireError } from './llm-wire.js';
import { isRecord, textOf } from './llm-wire.js';

export function parseOpenAiRequest(body: unknown): ParsedLlmRequest | WireError {
  if (!isRecord(body)) return openAiError(400, 'We could not parse the JSON body of your request.');
  const { model, messages, tools, stream } = body;
  if (typeof model !== 'string' || model === '') return openAiError(400, "you must provide a model parameter");
  if (!Array.isArray(messages) || messages.length === 0) {
    return openAiError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1.");
  }
  const history = openAiToolHistory(messages);
  if (isToolHistoryProblem(history)) return openAiError(400, history.problem, null, history.param);
  const records = messages.filter(isRecord);
  const system = records.filter((m) => m['role'] === 'system' || m['role'] === 'developer').map((m) => textOf(m['content']));
  const lastUser = [...records].reverse().find((m) => m['role'] === 'user');
  const streamOptions = isRecord(body['stream_options']) ? body['stream_options'] : {};
  const maxTokens = body['max_completion_tokens'] ?? body['max_tokens'];
  return {
    provider: 'openai',
    model,
    stream: stream === true,
    includeUsage: streamOptions['include_usage'] === true,
    system: system.length > 0 ? system.join('\n\n') : undefined,
    messages,
    tools: Array.isArray(tools) ? tools : [],
    toolNames: Array.isArray(tools) ? tools.filter(isRecord).flatMap((t) => namesOf(t['function'])) : [],
    lastUserText: lastUser ? textOf(lastUser['content']) : '',
    toolResults: history.toolResults,
    maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
    temperature: typeof body['temperature'] === 'number' ? body['temperature'] : undefined,
  };
}

/** `[name]` of a `tools[].function` entry, or nothing. */
function namesOf(fn: unknown): string[] {
  return isRecord(fn) && typeof fn['name'] === 'string' ? [fn['name']] : [];
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'permission_denied',
  404: 'invalid_request_error',
  429: 'rate_limit_exceeded',
};

/** `{"error":{"message","type","param","code"}}`, the shape the SDK turns into APIError subclasses. */
export function openAiError(status: number, message: string, code: string | null = null, param: string | null = null): WireError {
  return {
    status,
    headers: { 'x-request-id': `req_${randomBytes(12).toString('hex')}` },
    body: { error: { message, type: ERROR_TYPES[status] ?? 'server_error', param, code } },
  };
}

export function openAiAuthError(authorization: string | undefined): WireError {
  if (!authorization?.startsWith('Bearer ')) {
    return openAiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    );
  }
  return openAiError(401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_api_key');
}

interface Ids {
  id: string;
  created: number;
  /** One per tool call of the reply, in order. */
  callIds: string[];
}

function newIds(calls: readonly LlmScriptToolCall[]): Ids {
  return {
    id: `chatcmpl-${randomBytes(12).toString('base64url')}`,
    created: Math.floor(Date.now() / 1000),
    callIds: calls.map((call) => call.id ?? `call_${randomBytes(12).toString('base64url')}`),
  };
}

function usageOf(req: ParsedLlmRequest, reply: PlannedReply) {
  const prompt = countTokens(JSON.stringify(req.messages));
  const completion = replyTokens(reply);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/**
 * The SSE frames of one streamed reply: first delta with `role:"assistant"`, content deltas, tool call fragments
 * (id, type and name first, then the arguments in pieces), the `finish_reason` chunk, the optional usage chunk
 * (`choices: []`), then `[DONE]`.
 */
export function openAiStreamFrames(req: ParsedLlmRequest, reply: PlannedReply): { frames: SseFrame[]; errorFrame: string } {
  const ids = newIds(reply.toolCalls);
  // Every chunk of one completion shares this envelope.
  const envelope = {
    id: ids.id,
    object: 'chat.completion.chunk',
    created: ids.created,
    model: req.model,
    service_tier: 'default',
    system_fingerprint: 'fp_simulator',
  };
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): string =>
    data({
      ...envelope,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(req.includeUsage ? { usage: null } : {}),
    });
  const frames: SseFrame[] = [];
  // Each call opens with its index, id, type and name (arguments ''), then its arguments come in small pieces.
  const calls = reply.toolCalls.map((call, index) => ({
    start: { index, id: ids.callIds[index], type: 'function', function: { name: call.name, arguments: '' } },
    fragments: splitArguments(argumentsJson(call)).map((fragment) => ({ index, function: { arguments: fragment } })),
  }));
  const first = calls[0];
  if (reply.text !== '' || !first) {
    frames.push({ text: chunk({ role: 'assistant', content: '', refusal: null }), paced: false });
    for (const token of tokenize(reply.text)) frames.push({ text: chunk({ content: token }), paced: true });
    if (first) frames.push({ text: chunk({ tool_calls: [first.start] }), paced: true });
  } else {
    // A reply that is only tool calls: the role chunk already carries the first call, and `content: null`.
    frames.push({ text: chunk({ role: 'assistant', content: null, tool_calls: [first.start], refusal: null }), paced: true });
  }
  for (const call of calls) {
    // The first call's opening went out above (after the text, or in the role chunk).
    if (call !== first) frames.push({ text: chunk({ tool_calls: [call.start] }), paced: true });
    for (const fragment of call.fragments) frames.push({ text: chunk({ tool_calls: [fragment] }), paced: true });
  }
  frames.push({ text: chunk({}, first ? 'tool_calls' : 'stop'), paced: false });
  if (req.includeUsage) {
    frames.push({
      text: data({
        ...envelope,
        choices: [],
        usage: usageOf(req, reply),
      }),
      paced: false,
    });
  }
  frames.push({ text: 'data: [DONE]\n\n', paced: false });
  const errorFrame = data({
    error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null },
  });
  return { frames, errorFrame };
}

/** The non-streaming `chat.completion` body. */
export function openAiCompletion(req: ParsedLlmRequest, reply: PlannedReply): Record<string, unknown> {
  const ids = newIds(reply.toolCalls);
  const toolCalls =
    reply.toolCalls.length > 0
      ? reply.toolCalls.map((call, index) => ({ id: ids.callIds[index], type: 'function', function: { name: call.name, arguments: argumentsJson(call) } }))
      : undefined;
  return {
    id: ids.id,
    object: 'chat.completion',
    created: ids.created,
    model: req.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.text === '' && toolCalls ? null : reply.text,
          refusal: null,
          annotations: [],
          ...(toolCalls ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toolCalls ? 'tool_calls' : 'stop',
      },
    ],
    usage: usageOf(req, reply),
    service_tier: 'default',
    system_fingerprint: 'fp_simulator',
  };
}

function data(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}
