/**
 * A multi-step agent: the front desk of a dental office, as a conversation flow. The patient is verified first, then
 * a slot is found and booked, then the call is wrapped up; a patient who asks for a person is transferred. The order
 * is code, not prompt: in `identify` the model has no booking tool at all, so it cannot skip the verification.
 * `AGENT=agents/dental-flow.ts npm start`. The patients and the calendar are in memory (a real agent would call the
 * practice's system with `fetch(…, { signal: ctx.signal })`).
 */
import { z } from 'zod';
import { defineAgent, defineFlow, tool } from 'voice-call-orchestrator';

/** The practice's patients, by last name and date of birth (YYYY-MM-DD). */
export const patients = [
  { id: 'p-101', lastName: 'lovelace', dateOfBirth: '1815-12-10' },
  { id: 'p-102', lastName: 'hopper', dateOfBirth: '1906-12-09' },
];

/** Free slots, and the bookings made (patient id → slot): the test reads them. */
export const calendar = { free: ['Tuesday 9:00', 'Tuesday 14:30', 'Thursday 11:00'], booked: new Map<string, string>() };

const verifyPatient = tool({
  description: 'Verify the patient by last name and date of birth. Call it once you have both.',
  parameters: z.object({
    lastName: z.string().describe('The patient\'s last name.'),
    dateOfBirth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD').describe('Date of birth as YYYY-MM-DD.'),
  }),
  execute({ lastName, dateOfBirth }, ctx) {
    const patient = patients.find((p) => p.lastName === lastName.trim().toLowerCase() && p.dateOfBirth === dateOfBirth);
    if (patient === undefined) return { verified: false };
    ctx.flow.send({ type: 'VERIFIED', patientId: patient.id });
    return { verified: true };
  },
});

const findSlots = tool({
  description: 'List the free appointment slots.',
  parameters: z.object({}),
  execute: () => ({ slots: calendar.free }),
});

const book = tool({
  description: 'Book a free slot for the verified patient, once they accepted it.',
  parameters: z.object({ slot: z.string().describe('The slot exactly as find_slots gave it.') }),
  execute({ slot }, ctx) {
    const patientId = ctx.flow.context['patientId'];
    if (typeof patientId !== 'string') throw new Error('no verified patient');
    if (!calendar.free.includes(slot)) return { booked: false, reason: 'that slot is not free', free: calendar.free };
    calendar.free = calendar.free.filter((s) => s !== slot);
    calendar.booked.set(patientId, slot);
    ctx.flow.send({ type: 'BOOKED', slot });
    return { booked: true, slot };
  },
});

const askForPerson = tool({
  description: 'The patient wants to speak to a person at the front desk.',
  parameters: z.object({}),
  execute(_args, ctx) {
    ctx.flow.send({ type: 'WANTS_HUMAN' });
    return { status: 'transferring after your next sentence' };
  },
});

export default defineAgent({
  name: 'dental-flow',
  systemPrompt: 'You are the front desk of Bright Smile Dental, on the phone. Short spoken sentences, no lists.',
  greeting: 'Bright Smile Dental, how can I help?',
  transferTargets: { 'front desk': process.env.FRONT_DESK_PHONE_NUMBER ?? '+15550100300' },
  // Offered in every step.
  tools: { ask_for_person: askForPerson },
  flow: defineFlow({
    initial: 'identify',
    steps: {
      identify: {
        instructions: 'Ask for the patient\'s last name and date of birth, then verify them with verify_patient.',
        tools: { verify_patient: verifyPatient },
        on: { VERIFIED: 'booking', WANTS_HUMAN: 'transfer' },
      },
      booking: {
        instructions: 'Offer free slots (find_slots), and book the one the patient accepts with book. Read it back.',
        tools: { find_slots: findSlots, book },
        on: { BOOKED: 'done', WANTS_HUMAN: 'transfer' },
      },
      done: {
        instructions: 'The appointment is booked. Confirm it, and say goodbye (then end_call).',
        onEnter: { say: 'You are all set.' },
        history: 'summary',
      },
      transfer: { instructions: 'Tell the patient you are transferring them to the front desk.', transferTo: 'front desk' },
    },
  }),
});
