/**
 * The flow example's own tests, through the real stack: each step's instructions and tools reach the model, a tool's
 * event moves the flow before the model answers its result, a refused event is an error the model sees, and a
 * transfer step hands the call over.
 */
import { describe, expect, it } from 'vitest';
import { simulateCall, walkFlow } from 'voice-call-orchestrator/testing';
import { SIM_SPEED } from '../test/support/sim-speed.js';
import agent, { calendar } from './dental-flow.js';

const IDENTIFY = 'Ask for the patient\'s last name and date of birth';
const BOOKING = 'Offer free slots (find_slots)';

describe('dental-flow agent', () => {
  it('verifies, books and wraps up, each step with its own instructions and tools', async () => {
    const call = await simulateCall({
      speed: SIM_SPEED,
      agent,
      caller: ['I would like an appointment.', 'Lovelace, born 1815-12-10.', 'Tuesday at 9 please.', 'Can I talk to a person?', 'No, thanks. Bye!'],
      model: [
        { when: /appointment/, text: 'Sure. Your last name and date of birth?' },
        { when: /lovelace/i, toolCall: { name: 'verify_patient', args: { lastName: 'Lovelace', dateOfBirth: '1815-12-10' } } },
        // The answer to the tool's result already comes from the booking step: it has find_slots.
        { afterTool: 'verify_patient', text: (seen) => (seen.toolNames?.includes('find_slots') ? 'Thanks. Tuesday 9:00 is free.' : 'Still identifying.') },
        { when: /tuesday/i, toolCall: { name: 'book', args: { slot: 'Tuesday 9:00' } } },
        { afterTool: 'book', text: 'Tuesday 9:00 it is.' },
        { when: /person/, toolCall: { name: 'ask_for_person', args: {} } },
        { afterTool: 'ask_for_person', text: ({ toolResults }) => (toolResults[0]?.content.includes('error') === true ? 'Sorry, you are already booked. Anything else?' : 'Transferring.') },
        { when: /bye/i, text: 'Goodbye!', toolCall: { name: 'end_call', args: {} } },
      ],
    });
    expect(call.flowPath).toEqual(['identify', 'booking', 'done']);
    expect(calendar.booked.get('p-101')).toBe('Tuesday 9:00');

    const [greetingTurn, verifying, afterVerified] = call.llmRequests;
    expect(greetingTurn?.system).toContain(IDENTIFY);
    expect(greetingTurn?.toolNames).toEqual(['verify_patient', 'ask_for_person', 'end_call', 'transfer_call']);
    expect(verifying?.system).toContain(IDENTIFY);
    // The round right after verify_patient's result: the booking step's prompt and tools, not identify's.
    expect(afterVerified?.system).toContain(BOOKING);
    expect(afterVerified?.system).not.toContain(IDENTIFY);
    expect(afterVerified?.toolNames).toEqual(['find_slots', 'book', 'ask_for_person', 'end_call', 'transfer_call']);
    expect(call.heard).toContain('Thanks. Tuesday 9:00 is free.');

    // Entering `done` said its phrase at once, and summarised the conversation (history: 'summary').
    expect(call.heardText).toMatch(/You are all set\. ?Tuesday 9:00 it is\./);
    const last = call.llmRequests.at(-1);
    expect(last?.system).toMatch(/Earlier in this call:\n(.*\n)*Caller: I would like an appointment\.\n/);
    expect(JSON.stringify(last?.messages.slice(1))).not.toContain('I would like an appointment'); // [0]: the system message

    // ask_for_person is offered in every step, but `done` does not accept WANTS_HUMAN: an error the model sees.
    const refused = call.toolCalls.find((t) => t.name === 'ask_for_person');
    expect(refused).toMatchObject({ outcome: 'error' });
    expect(refused?.resultText).toContain('The conversation is in step \\"done\\", which does not accept WANTS_HUMAN');
    expect(call.heard).toContain('Sorry, you are already booked. Anything else?');
    expect(call.endReason).toBe('end_call');
  });

  it('hands the call to the front desk when the patient asks for a person', async () => {
    const call = await simulateCall({
      speed: SIM_SPEED,
      agent,
      caller: ['I need to talk to a person.'],
      model: [
        { when: /person/, toolCall: { name: 'ask_for_person', args: {} } },
        { afterTool: 'ask_for_person', text: 'Of course, I am transferring you to the front desk now.' },
      ],
    });
    expect(call.flowPath).toEqual(['identify', 'transfer']);
    expect(call.heard).toContain('Of course, I am transferring you to the front desk now.');
    expect(call.twilioUpdates.map((u) => u['Twiml'])).toEqual([expect.stringContaining('<Dial>+15550100300</Dial>')]);
    // Twilio left the media stream for the dialled number.
    expect(call.endedBy).toBe('redirected');
  });

  it('keeps the model to the step: a tool of a later step is an unknown tool in this one', async () => {
    const call = await simulateCall({
      speed: SIM_SPEED,
      agent,
      caller: ['Book Tuesday 9:00 for me.'],
      model: [
        { when: /book/i, toolCall: { name: 'book', args: { slot: 'Tuesday 14:30' } } },
        { afterTool: 'book', text: 'I need to verify you first. Your last name?' },
      ],
    });
    expect(call.flowPath).toEqual(['identify']);
    expect(call.toolCalls[0]).toMatchObject({ name: 'book', outcome: 'error' });
    expect(call.toolCalls[0]?.resultText).toContain('Unknown tool \\"book\\"');
    expect(calendar.free).toContain('Tuesday 14:30');
  });

  it('takes every transition of its flow (model-based: one call per path through the flow graph)', async () => {
    calendar.free.push('Friday 10:00');
    const walk = await walkFlow({
      speed: SIM_SPEED,
      agent,
      transitions: {
        identify: {
          VERIFIED: {
            caller: ['Hopper, born 1906-12-09.'],
            model: [{ when: /hopper/i, toolCall: { name: 'verify_patient', args: { lastName: 'Hopper', dateOfBirth: '1906-12-09' } } }],
          },
          WANTS_HUMAN: { caller: ['Get me a person.'], model: [{ when: /person/, toolCall: { name: 'ask_for_person', args: {} } }] },
        },
        booking: {
          BOOKED: { caller: ['Friday at ten.'], model: [{ when: /friday/i, toolCall: { name: 'book', args: { slot: 'Friday 10:00' } } }] },
          WANTS_HUMAN: { caller: ['Get me a person.'], model: [{ when: /person/, toolCall: { name: 'ask_for_person', args: {} } }] },
        },
      },
    });
    console.log(walk.summary);
    expect(walk.missing).toEqual([]);
    expect(walk.summary).toBe('flow transition coverage: 4/4');
    // The longest paths first: booking's two transitions each went through identify.VERIFIED, then identify's other.
    expect(walk.calls.map((c) => c.planned)).toEqual([
      ['identify.VERIFIED', 'booking.BOOKED'],
      ['identify.VERIFIED', 'booking.WANTS_HUMAN'],
      ['identify.WANTS_HUMAN'],
    ]);
    expect(walk.calls.map((c) => c.result.flowPath)).toEqual([
      ['identify', 'booking', 'done'],
      ['identify', 'booking', 'transfer'],
      ['identify', 'transfer'],
    ]);
  });
});
