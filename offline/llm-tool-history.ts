/**
 * Tool rounds in a request's history, checked as each provider checks them (a malformed conversation is a 400 with
 * the provider's own words, so a client that breaks the rules fails in tests as it would in production), and the
 * tool results the request ends with (what a scripted model answers).
 *
 * The error texts are the APIs' own, typos included ("preceeding" is OpenAI's spelling). Where the public record
 * does not show which message index a provider names, the index of the message holding the calls is used.
 */
import { isRecord, textOf, type SeenToolResult } from './llm-wire.js';

/** Why the provider refuses the conversation; the wire module wraps it in the provider's error JSON. */
export interface ToolHistoryProblem {
  problem: string;
  /** OpenAI's `param` (Anthropic puts the location in the message itself). */
  param: string | null;
}

export interface ToolHistory {
  toolResults: SeenToolResult[];
}

export function isToolHistoryProblem(value: ToolHistory | ToolHistoryProblem): value is ToolHistoryProblem {
  return 'problem' in value;
}

/** The calls of an OpenAI assistant message (`tool_calls[].id` → `function.name`); empty for any other message. */
function openAiCallsOf(message: Record<string, unknown>): Map<string, string> {
  const calls = new Map<string, string>();
  if (message['role'] !== 'assistant' || !Array.isArray(message['tool_calls'])) return calls;
  for (const call of message['tool_calls'].filter(isRecord)) {
    const fn = isRecord(call['function']) ? call['function'] : {};
    if (typeof call['id'] === 'string') calls.set(call['id'], typeof fn['name'] === 'string' ? fn['name'] : '');
  }
  return calls;
}

/**
 * OpenAI chat completions: an assistant message with `tool_calls` must be followed by one `role: "tool"` message per
 * call id before anything else; a tool message must answer a call of that assistant message.
 */
export function openAiToolHistory(messages: readonly unknown[]): ToolHistory | ToolHistoryProblem {
  /** The assistant tool-call message whose results are being read, and the ids answered so far. */
  let round: { index: number; calls: Map<string, string>; answered: Set<string> } | undefined;
  let trailing: SeenToolResult[] = [];
  const unanswered = (): ToolHistoryProblem | undefined => {
    const missing = round ? [...round.calls.keys()].filter((id) => !round?.answered.has(id)) : [];
    if (!round || missing.length === 0) return undefined;
    return {
      problem:
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
        `The following tool_call_ids did not have response messages: ${missing.join(', ')}`,
      param: `messages.[${round.index}].role`,
    };
  };

  for (const [index, message] of messages.entries()) {
    if (!isRecord(message)) continue;
    if (message['role'] === 'tool') {
      if (round === undefined) {
        return {
          problem: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          param: `messages.[${index}].role`,
        };
      }
      const id = message['tool_call_id'];
      if (typeof id !== 'string') {
        return { problem: `Missing required parameter: 'messages.[${index}].tool_call_id'.`, param: `messages.[${index}].tool_call_id` };
      }
      const name = round.calls.get(id);
      if (name === undefined) {
        return {
          problem: `Invalid parameter: 'tool_call_id' of '${id}' not found in 'tool_calls' of previous message.`,
          param: `messages.[${index}].tool_call_id`,
        };
      }
      round.answered.add(id);
      trailing.push({ id, name, content: textOf(message['content']), isError: false });
      continue;
    }
    const problem = unanswered();
    if (problem) return problem;
    trailing = [];
    const calls = openAiCallsOf(message);
    round = calls.size > 0 ? { index, calls, answered: new Set() } : undefined;
  }
  return unanswered() ?? { toolResults: trailing };
}

/** A message's content blocks with their indexes in the content array (a string content has none). */
function blocksOf(message: unknown): Array<[number, Record<string, unknown>]> {
  if (!isRecord(message) || !Array.isArray(message['content'])) return [];
  return [...message['content'].entries()].filter((entry): entry is [number, Record<string, unknown>] => isRecord(entry[1]));
}

/** The `tool_use` blocks of an Anthropic assistant message (id → name); empty for any other message. */
function toolUsesOf(message: unknown): Map<string, string> {
  const uses = new Map<string, string>();
  if (!isRecord(message) || message['role'] !== 'assistant') return uses;
  for (const [, block] of blocksOf(message)) {
    if (block['type'] === 'tool_use' && typeof block['id'] === 'string') uses.set(block['id'], typeof block['name'] === 'string' ? block['name'] : '');
  }
  return uses;
}

function toolUseWithoutResult(index: number, missing: readonly string[]): ToolHistoryProblem {
  return {
    problem:
      `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. ` +
      'Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    param: null,
  };
}

/**
 * Anthropic messages: each `tool_result` must answer a `tool_use` of the previous (assistant) message, and the next
 * user message must BEGIN with a result for every `tool_use` — results after a text block do not count, which is
 * how a client that puts text first gets refused.
 */
export function anthropicToolHistory(messages: readonly unknown[]): ToolHistory | ToolHistoryProblem {
  for (const [index, message] of messages.entries()) {
    if (!isRecord(message) || message['role'] !== 'user') continue;
    const uses = toolUsesOf(messages[index - 1]);
    const blocks = blocksOf(message);
    for (const [position, block] of blocks) {
      if (block['type'] !== 'tool_result') continue;
      const id = String(block['tool_use_id']);
      if (!uses.has(id)) {
        return {
          problem:
            `messages.${index}.content.${position}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. ` +
            'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
          param: null,
        };
      }
    }
    const leading = new Set<string>();
    for (const [, block] of blocks) {
      if (block['type'] !== 'tool_result') break;
      leading.add(String(block['tool_use_id']));
    }
    const missing = [...uses.keys()].filter((id) => !leading.has(id));
    if (missing.length > 0) return toolUseWithoutResult(index - 1, missing);
  }
  const lastIndex = messages.length - 1;
  const last = messages[lastIndex];
  const pending = toolUsesOf(last);
  if (pending.size > 0) return toolUseWithoutResult(lastIndex, [...pending.keys()]);

  // The results that end the request: those after the last text block of the final user message.
  const uses = toolUsesOf(messages[lastIndex - 1]);
  let trailing: SeenToolResult[] = [];
  if (isRecord(last) && last['role'] === 'user') {
    for (const [, block] of blocksOf(last)) {
      if (block['type'] === 'tool_result') {
        const id = String(block['tool_use_id']);
        trailing.push({ id, name: uses.get(id) ?? '', content: textOf(block['content']), isError: block['is_error'] === true });
      } else if (block['type'] === 'text') trailing = [];
    }
  }
  return { toolResults: trailing };
}
