import type { ChatMessage, LlmInput } from './events.js';

/**
 * Append to the conversation, merging with the last message when it has the same role (a greeting followed by a
 * re-prompt, or a user turn whose answer was never heard), so roles always alternate for the LLM APIs.
 */
export function appendMessage(
  history: readonly ChatMessage[],
  role: 'user' | 'assistant',
  text: string,
): ChatMessage[] {
  const content = text.trim();
  if (content === '') return [...history];
  const last = history[history.length - 1];
  if (last?.role === role) return [...history.slice(0, -1), { role, content: `${last.content} ${content}` }];
  return [...history, { role, content }];
}

/** The LLM turn's input: system prompt, the conversation so far, then the caller's new utterance. */
export function llmInputFor(systemPrompt: string, history: readonly ChatMessage[], userText: string): LlmInput {
  return { messages: [{ role: 'system', content: systemPrompt }, ...appendMessage(history, 'user', userText)] };
}
