/** A developer's own agent (not the example shop): a dentist's front desk with a booking tool. */
import { z } from 'zod';
import { defineAgent, tool } from 'voice-call-orchestrator';

export default defineAgent({
  name: 'dentist',
  systemPrompt: 'You are the front desk of Bright Smile Dental. Short spoken sentences.',
  greeting: 'Bright Smile Dental, how can I help?',
  tools: {
    book_appointment: tool({
      description: 'Book an appointment.',
      parameters: z.object({ day: z.string() }),
      async execute({ day }) {
        return { booked: true, day };
      },
    }),
  },
});
