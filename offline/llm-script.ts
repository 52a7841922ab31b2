/**
 * What the LLM simulator answers: scripted entries matched against the caller's last words (or, after a tool round,
 * against the tool whose results end the request), else a deterministic echo. Plus the tokenizer that decides the
 * pace of the stream (a token ≈ a word or a punctuation piece).
 */
import type { SeenToolResult } from './llm-wire.js';

export interface LlmScriptToolCall {
  name: string;
  args: Record<string, unknown>;
  /** The call's id on the wire (default: a fresh `call_…` / `toolu_…`, as the providers make). */
  id?: string;
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

/** What a scripted reply may depend on: the caller's last words and the tool results the request ends with. */
export interface LlmSeen {
  lastUserText: string;
  toolResults: SeenToolResult[];
  /** The tools the request offered (absent where a caller builds a LlmSeen of its own). */
  toolNames?: readonly string[];
}

export interface LlmScriptEntry {
  /** Matched against the last user text: a string = case-insensitive substring; absent = matches anything. */
  when?: string | RegExp;
  /**
   * Matches only a request that ends with the results of a tool of this name (a string = the exact name, a RegExp
   * tested on each name). An entry without `afterTool` matches only requests that end with real user text, so a
   * script's entries for what the caller says never answer a tool round by accident.
   */
  afterTool?: string | RegExp;
  /** Only requests to this API (`/v1/chat/completions` = openai, `/v1/messages` = anthropic). */
  provider?: 'openai' | 'anthropic';
  /** Only requests for this model. */
  model?: string;
  /**
   * Text streamed first (before any tool call), or a function of what the request carried (e.g. to speak a value
   * from a tool result). Absent with no tool call = the default reply (`defaultReplyText`).
   */
  text?: string | ((seen: LlmSeen) => string);
  /** A tool call streamed after the text, its arguments JSON split across several fragments. */
  toolCall?: LlmScriptToolCall;
  /** Several tool calls in one reply (parallel calls), after `toolCall` when both are given. */
  toolCalls?: LlmScriptToolCall[];
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
  /** In the order they are streamed (OpenAI index 0..n, Anthropic one content block each). */
  toolCalls: LlmScriptToolCall[];
  error: { status: number; message: string } | undefined;
  failMidStream: Exclude<LlmMidStreamFailure, boolean> | undefined;
  hang: LlmHang | undefined;
  firstTokenMs: number | undefined;
  tokensPerSecond: number | undefined;
}

/** The reply when no entry matches a request ending with user text: the caller's words echoed. */
export function defaultReplyText(lastUserText: string): string {
  const said = lastUserText.trim().replace(/\s+/g, ' ');
  if (said === '') return 'Hello. How can I help you today?';
  return `You said: "${said}". Is there anything else?`;
}

/**
 * The reply when no entry matches a request ending with tool results: the scripted model that "echoes the tool
 * result" — `Here is what I found: <content>.`, the contents joined by `; ` (no second full stop when the last
 * content already ends a sentence).
 */
export function defaultToolReplyText(results: readonly SeenToolResult[]): string {
  const found = results.map((r) => r.content.trim()).join('; ');
  return `Here is what I found: ${found}${/[.!?]$/.test(found) ? '' : '.'}`;
}

/** The tools a request offered that the agent defined (not the engine's own end_call / transfer_call). */
const agentToolsOf = (seen: LlmSeen): string[] => (seen.toolNames ?? []).filter((name) => name !== 'end_call' && name !== 'transfer_call');

/**
 * The offline model for any agent when nobody scripted one: it knows nothing of the business, so it never makes up
 * facts. It echoes the caller, names the tools the agent offered it (so a developer sees their agent wired up), and
 * hangs up when the caller says goodbye. Script the model (`--script`, OFFLINE_SCRIPT) to make it call the tools.
 */
export function genericModelScript(): LlmScriptEntry[] {
  return [
    {
      when: /\b(bye|goodbye)\b/i,
      text: 'Goodbye!',
      toolCall: { name: 'end_call', args: { reason: 'the caller said goodbye' } },
    },
    {
      text: (seen) => {
        const tools = agentToolsOf(seen);
        // Short: every character is spoken (and heard) at the simulated TTS pace.
        const offer = tools.length > 0 ? ` Not scripted; your tools: ${tools.join(', ')}.` : ' Not scripted.';
        return seen.lastUserText.trim() === '' ? `Hello.${offer}` : `You said: "${seen.lastUserText.trim().replace(/\s+/g, ' ')}".${offer}`;
      },
    },
  ];
}

/** The default reply for what the request ends with. */
export function defaultReply(seen: LlmSeen): string {
  return seen.toolResults.length > 0 ? defaultToolReplyText(seen.toolResults) : defaultReplyText(seen.lastUserText);
}

/** Which API and model a request went to (entries may be limited to one). */
export interface LlmTarget {
  provider: 'openai' | 'anthropic';
  model: string;
}

function testPattern(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0; // a /g or /y regex keeps state between tests
  return pattern.test(text);
}

function matches(entry: LlmScriptEntry, seen: LlmSeen, target: LlmTarget | undefined): boolean {
  if (entry.provider !== undefined && entry.provider !== target?.provider) return false;
  if (entry.model !== undefined && entry.model !== target?.model) return false;
  const { afterTool } = entry;
  if (afterTool === undefined) {
    if (seen.toolResults.length > 0) return false;
  } else if (!seen.toolResults.some((r) => (typeof afterTool === 'string' ? r.name === afterTool : testPattern(afterTool, r.name)))) {
    return false;
  }
  if (entry.when === undefined) return true;
  if (typeof entry.when === 'string') return seen.lastUserText.toLowerCase().includes(entry.when.toLowerCase());
  return testPattern(entry.when, seen.lastUserText);
}

/** Picks the first matching entry (removing it when `once`), or the default reply. Mutates `script`. */
export function planReply(script: LlmScriptEntry[], seen: LlmSeen, target?: LlmTarget): PlannedReply {
  const index = script.findIndex((entry) => matches(entry, seen, target));
  const entry = index >= 0 ? script[index] : undefined;
  if (entry?.once) script.splice(index, 1);
  const toolCalls = [...(entry?.toolCall ? [entry.toolCall] : []), ...(entry?.toolCalls ?? [])];
  const text = entry?.text;
  const failure = entry?.failMidStream;
  return {
    text: typeof text === 'function' ? text(seen) : (text ?? (toolCalls.length > 0 ? '' : defaultReply(seen))),
    toolCalls,
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

/** The output tokens of a reply for `usage`: its words, and each tool call's name and arguments. */
export function replyTokens(reply: PlannedReply): number {
  return countTokens(reply.text) + reply.toolCalls.reduce((sum, call) => sum + countTokens(argumentsJson(call)) + 1, 0);
}
