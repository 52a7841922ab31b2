/**
 * The bundled example agent: the front desk of a small shop. It answers questions, looks up orders in the shop's
 * orders API (ORDERS_API_URL; offline, the server starts a local one), transfers to the manager on request, and
 * hangs up after goodbye. Copy it to start your own agent: `AGENT=agents/my-agent.ts npm start`.
 */
import { z } from 'zod';
import { defineAgent, tool } from 'voice-call-orchestrator';

const ordersApi = (): string => process.env.ORDERS_API_URL ?? 'http://127.0.0.1:8083';

export default defineAgent({
  name: 'front-desk',
  systemPrompt:
    'You are the front desk of Bella Cucina, a kitchenware shop, on the phone. Answer in one to three short spoken ' +
    'sentences, without lists or markdown. To check an order, ask for its number if you do not have it, then call ' +
    'lookup_order; never guess an order status. Use transfer_call with target "manager" only when the caller asks ' +
    'for a person. When the caller says goodbye, say goodbye and call end_call.',
  greeting: 'Hello! Thanks for calling. How can I help you today?',
  phrases: {
    voicemail: 'Hello, this is Bella Cucina. Please call us back when you can. Goodbye!',
  },
  transferTargets: { manager: process.env.MANAGER_PHONE_NUMBER ?? '+15550100200' },
  tools: {
    lookup_order: tool({
      description: 'Look up an order by its number: what it is, its status and when it arrives.',
      parameters: z.object({
        order_number: z.string().regex(/^\d{3,10}$/, 'digits only').describe('The order number the caller gave, digits only.'),
      }),
      filler: 'Let me look that up.',
      async execute({ order_number }, { signal, traceHeaders }) {
        // traceHeaders(): the orders API's own spans (if it traces) join this call's trace.
        const response = await fetch(`${ordersApi()}/orders/${encodeURIComponent(order_number)}`, { signal, headers: traceHeaders() });
        if (response.status === 404) return { found: false, order_number };
        if (!response.ok) throw new Error(`the orders system answered HTTP ${response.status}`);
        return { found: true, ...((await response.json()) as Record<string, unknown>) };
      },
    }),
  },
});
