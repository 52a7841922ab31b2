/**
 * What the simulated LLM says when the server runs offline (no keys): enough variety to try every path of a call
 * by voice — a normal answer, a long one to interrupt, a transfer and a goodbye that hangs up.
 */
import type { LlmScriptEntry } from './llm-script.js';

export const offlineLlmScript: LlmScriptEntry[] = [
  {
    when: /\b(bye|goodbye|that's all|hang up)\b/i,
    text: 'Thanks for calling, goodbye!',
    toolCall: { name: 'end_call', args: { reason: 'caller said goodbye' } },
  },
  {
    when: /\b(transfer|human|agent|operator)\b/i,
    text: 'Sure, let me transfer you to the manager.',
    toolCall: { name: 'transfer_call', args: { target: 'manager' } },
  },
  {
    when: /\b(story|tell me about|explain|long)\b/i,
    text:
      'Of course. Our service started in a small office with two phones and a lot of coffee. ' +
      'Over the years it grew into a team that answers thousands of calls every day. ' +
      'We care about short waits, clear answers and friendly voices. ' +
      'Today most questions are answered in under a minute, day or night.',
  },
  {
    when: /\b(sunday|sundays|weekend|weekends|saturday)\b/i,
    text: 'Yes, we are open on weekends too, with the same hours.',
  },
  {
    when: /\b(hours|open)\b/i,
    text: 'We are open every day from eight in the morning to eight in the evening. Anything else?',
  },
];
