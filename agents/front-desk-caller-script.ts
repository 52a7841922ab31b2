/**
 * The demo's caller: asks about an order (a tool round trip), asks for the opening hours, interrupts a long answer,
 * and says goodbye. On Flux the caller hesitates mid-question (longer than the eager delay, shorter than the end of
 * turn): EagerEndOfTurn, then TurnResumed. Used by `npm run demo`, the console demo, its tests and its bench.
 */
import type { ScriptStep } from '../offline/twilio-caller-types.js';

export function demoCallerScript(flux = false): readonly ScriptStep[] {
  return [
    { waitForAgent: 'reply' },
    { say: 'Where is my order 4271?' },
    { waitForAgent: 'reply' },
    { say: flux ? 'Thanks. What are ... your opening hours?' : 'Thanks. What are your opening hours?' },
    { waitForAgent: 'reply' },
    { say: 'Can you tell me the story of your company?' },
    { bargeIn: 'Sorry to interrupt, do you work on Sundays?', afterMs: 2500 },
    { waitForAgent: 'reply' },
    { say: 'Great, thanks. Goodbye!' },
    { waitForAgent: 'reply' },
  ];
}
