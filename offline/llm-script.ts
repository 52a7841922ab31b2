/**
 * What the LLM simulator answers: scripted entries matched against the caller's last words, else a deterministic
 * echo. Plus the tokenizer that decides the pace of the stream (a token ≈ a word or a punctuation piece).
 */

export interface LlmScriptToolCall {
  name: string;
  args: Record<string, unknown>;
  /** Stream this text as the arguments instead of `JSON.stringify(args)` (e.g. broken JSON, to test clients). */
  rawArguments?: string;
}

/** The arguments text a tool call streams. */
export function argumentsJson(call: LlmScriptToolCall): string {
  return call.rawArguments ?? JSON.stringify(call.args);
}

/**
 * How a reply fails half way: `'error-event'` (or `true`) = the provider's in-stream error event
 * (Anthropic `event: error` overloaded_error, OpenAI `data: {"error":…}`), then the response ends;
 * `'disconnect'` = the socket is destroyed; `'truncate'` = the response ends cleanly but without the end marker
 * (no finish_reason / message_stop), as a cutting proxy would.
 */
export type LlmMidStreamFailure = boolean | 'error-event' | 'disconnect' | 'truncate';

/**
 * A provider that never answers in time: `'headers'` = the request is read and then nothing at all comes back (as a
 * stuck load balancer); `'first-token'` = 200 and the stream's opening events, then no token (a stalled model).
 * Either way the simulator waits until the client goes away.
 */
export type LlmHang = 'headers' | 'first-token';

export interface LlmScriptEntry {
  /** Matched against the last user message: a string = case-insensitive substring; absent = matches anything. */
  when?: string | RegExp;
  /** Only requests to this API (`/v1/chat/completions` = openai, `/v1/messages` = anthropic). */
  provider?: 'openai' | 'anthropic';
  /** Only requests for this model. */
  model?: string;
  /** Text streamed first (before any tool call). Absent with no toolCall = the default echo reply. */
  text?: string;
  /** A tool call streamed after the text, its arguments JSON split across several fragments. */
  toolCall?: LlmScriptToolCall;
  /** Answer with this HTTP error (the provider's error JSON) instead of a reply. */
  error?: { status: number; message: string };
  failMidStream?: LlmMidStreamFailure;
  hang?: LlmHang;
  /** Remove the entry once it has been used. */
  once?: boolean;
  /** Per-entry pacing overrides. */
  firstTokenMs?: number;
  tokensPerSecond?: number;
}

/** The reply the simulator decided on for one request. */
export interface PlannedReply {
  text: string;
  toolCall: LlmScriptToolCall | undefined;
  error: { status: number; message: string } | undefined;
  failMidStream: Exclude<LlmMidStreamFailure, boolean> | undefined;
  hang: LlmHang | undefined;
  firstTokenMs: number | undefined;
  tokensPerSecond: number | undefined;
}

export function defaultReplyText(lastUserText: string): string {
  const said = lastUserText.trim().replace(/\s+/g, ' ');
  if (said === '') return 'Hello. How can I help you today?';
  return `You said: "${said}". Is there anything else?`;
}

/** Which API and model a request went to (entries may be limited to one). */
export interface LlmTarget {
  provider: 'openai' | 'anthropic';
  model: string;
}

function matches(entry: LlmScriptEntry, lastUserText: string, target: LlmTarget | undefined): boolean {
  if (entry.provider !== undefined && entry.provider !== target?.provider) return false;
  if (entry.model !== undefined && entry.model !== target?.model) return false;
  if (entry.when === undefined) return true;
  if (typeof entry.when === 'string') return lastUserText.toLowerCase().includes(entry.when.toLowerCase());
  entry.when.lastIndex = 0; // a /g or /y regex keeps state between tests
  return entry.when.test(lastUserText);
}

/** Picks the first matching entry (removing it when `once`), or the default echo. Mutates `script`. */
export function planReply(script: LlmScriptEntry[], lastUserText: string, target?: LlmTarget): PlannedReply {
  const index = script.findIndex((entry) => matches(entry, lastUserText, target));
  const entry = index >= 0 ? script[index] : undefined;
  if (entry?.once) script.splice(index, 1);
  const failure = entry?.failMidStream;
  return {
    text: entry?.text ?? (entry?.toolCall ? '' : defaultReplyText(lastUserText)),
    toolCall: entry?.toolCall,
    error: entry?.error,
    failMidStream: failure === true ? 'error-event' : failure === false ? undefined : failure,
    hang: entry?.hang,
    firstTokenMs: entry?.firstTokenMs,
    tokensPerSecond: entry?.tokensPerSecond,
  };
}

/** Splits text into tokens (each a word or punctuation run with its leading space) whose concatenation is the text. */
export function tokenize(text: string): string[] {
  const tokens = text.match(/\s*(?:[\p{L}\p{N}'’]+|[^\p{L}\p{N}\s'’]+)|\s+/gu) ?? [];
  return tokens.join('') === text ? tokens : [text];
}

/** Splits a tool call's arguments JSON into small fragments, the way providers stream them. */
export function splitArguments(json: string, size = 5): string[] {
  const fragments: string[] = [];
  for (let i = 0; i < json.length; i += size) fragments.push(json.slice(i, i + size));
  return fragments;
}

/** A rough token count for `usage` fields. */
export function countTokens(text: string): number {
  return tokenize(text).filter((t) => t.trim() !== '').length;
}
