/**
 * What the simulated LLM says when the server runs offline (no keys): enough variety to try every path of a call
 * by voice — a normal answer, a long one to interrupt, a transfer and a goodbye that hangs up.
 */
import type { LlmScriptEntry, LlmSeen } from '../offline/llm-script.js';
import { SAMPLE_ORDERS } from './front-desk-orders-api.js';

/** What the model says with the order the lookup_order tool returned (the example agent's orders API). */
export function spokenOrderStatus(seen: LlmSeen): string {
  const result = seen.toolResults.find((r) => r.name === 'lookup_order');
  if (result === undefined || result.isError) return "Sorry, I couldn't look that order up right now.";
  try {
    const order = JSON.parse(result.content) as { found?: boolean; number?: string; item?: string; status?: string; eta?: string | null; order_number?: string };
    if (order.found === false) return `I can't find an order with the number ${order.order_number ?? ''}. Could you check it?`;
    const eta = order.eta ? ` It should arrive ${order.eta}.` : '';
    return `Your order ${order.number ?? ''}, ${order.item ?? 'your item'}, is ${order.status ?? 'on its way'}.${eta} Anything else?`;
  } catch {
    return `Here is what I found: ${result.content}`;
  }
}

export const offlineLlmScript: LlmScriptEntry[] = [
  // The example agent's order lookup: an order number the caller says → the tool; its result → the answer.
  ...SAMPLE_ORDERS.map(
    (order): LlmScriptEntry => ({
      when: new RegExp(`\\border\\b.*\\b${order.number}\\b`, 'i'),
      text: 'Let me check that order.',
      toolCall: { name: 'lookup_order', args: { order_number: order.number } },
    }),
  ),
  { afterTool: 'lookup_order', text: spokenOrderStatus },
  { when: /\border\b/i, text: 'Sure. What is your order number?' },
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
