/** A test agent with module state the test reads: what onCallStart saw and what its tool booked. */
import { z } from 'zod';
import { defineAgent, tool } from 'voice-call-orchestrator';

export const seen: Array<{ from: string; to: string; customParameters: Readonly<Record<string, string>> }> = [];
export const booked: string[] = [];

export default defineAgent({
  name: 'stateful',
  systemPrompt: 'You book slots.',
  greeting: 'Booking line.',
  onCallStart(call) {
    seen.push({ from: call.from, to: call.to, customParameters: call.customParameters });
  },
  tools: {
    book: tool({
      description: 'Book a slot.',
      parameters: z.object({ slot: z.string() }),
      async execute({ slot }) {
        booked.push(slot);
        return { booked: true, slot };
      },
    }),
  },
});
