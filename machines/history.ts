import type { AgentSpeech } from './context.js';
import type { ChatMessage, LlmInput } from './events.js';
import { heardTextOf } from './heard.js';
import type { CallOptions } from './options.js';
import { roundMessages, type ToolRound } from './tool-round.js';

type Plain = { role: 'user' | 'assistant'; content: string };

const isPlain = (message: ChatMessage | undefined): message is Plain =>
  message !== undefined && (message.role === 'user' || (message.role === 'assistant' && message.toolCalls === undefined));

/**
 * Append to the conversation. Plain text messages are merged with the last message when it has the same role (a
 * greeting followed by a re-prompt, or a user turn whose answer was never heard), so roles alternate for the LLM
 * APIs; empty text is dropped. Tool-call messages and tool results are appended as they are.
 */
export function appendMessages(history: readonly ChatMessage[], messages: readonly ChatMessage[]): ChatMessage[] {
  const out = [...history];
  for (const message of messages) {
    if (!isPlain(message) || (message.role === 'assistant' && message.toolCalls !== undefined)) {
      out.push(message);
      continue;
    }
    const content = message.content.trim();
    if (content === '') continue;
    const last = out[out.length - 1];
    if (isPlain(last) && last.role === message.role) out[out.length - 1] = { role: last.role, content: `${last.content} ${content}` };
    else out.push({ role: message.role, content });
  }
  return out;
}

export function appendMessage(history: readonly ChatMessage[], role: 'user' | 'assistant', text: string): ChatMessage[] {
  return appendMessages(history, [{ role, content: text }]);
}

/**
 * What one turn adds to history: the caller's utterance, each completed tool round (its tool-call message with the
 * text the caller heard during that round, then its results), then the rest of the reply the caller heard.
 */
export function turnMessages(userText: string, rounds: readonly ToolRound[], speech: AgentSpeech): ChatMessage[] {
  const inRounds = new Set(rounds.flatMap((round) => round.segments));
  const rest = speech.segments.filter((segment) => !inRounds.has(segment.name)).map((segment) => segment.name);
  return [
    { role: 'user', content: userText },
    ...rounds.flatMap((round) => roundMessages(round, heardTextOf(speech, round.segments))),
    { role: 'assistant', content: heardTextOf(speech, rest) },
  ];
}

/**
 * The input of one inference round: system prompt, the conversation so far, the caller's utterance, then this
 * turn's completed tool rounds with the text the model generated in them (it must see what it said).
 */
export function llmInputFor(
  options: CallOptions,
  history: readonly ChatMessage[],
  userText: string,
  rounds: readonly ToolRound[],
): LlmInput {
  const turn = appendMessages(history, [{ role: 'user', content: userText }]);
  return {
    messages: [
      { role: 'system', content: options.systemPrompt },
      ...appendMessages(turn, rounds.flatMap((round) => roundMessages(round, round.text.trim()))),
    ],
    tools: options.tools.map(({ name, description, parameters }) => ({ name, description, parameters })),
    stallTimeoutMs: options.llmTimeoutMs,
  };
}
