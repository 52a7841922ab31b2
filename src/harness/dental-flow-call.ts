/**
 * A call of the dental-flow example (agents/dental-flow.ts) that goes through its flow: the scripted model and the
 * caller's lines. verify_patient moves the flow identify → booking, book moves it to done, the goodbye ends the call.
 * The tests that need a flow call through the stack (records and replay, traces, the inspector, the console) and the
 * replay fixture `flow` (record-fixtures.ts) share it.
 */
import type { LlmScriptEntry } from '../../offline/llm-script.js';
import type { ScriptStep } from '../../offline/twilio-caller-types.js';

export const dentalFlowModel: LlmScriptEntry[] = [
  { when: /appointment/, text: 'Sure. Your last name and date of birth?' },
  { when: /lovelace/i, toolCall: { name: 'verify_patient', args: { lastName: 'Lovelace', dateOfBirth: '1815-12-10' } } },
  { afterTool: 'verify_patient', text: 'Thanks. Tuesday 9:00 is free.' },
  { when: /tuesday/i, toolCall: { name: 'book', args: { slot: 'Tuesday 9:00' } } },
  { afterTool: 'book', text: 'Tuesday 9:00 it is.' },
  { when: /bye/i, text: 'Goodbye!', toolCall: { name: 'end_call', args: {} } },
];

/** The caller's side after the greeting: verified (→ booking), booked (→ done), goodbye (the agent hangs up). */
export const dentalFlowBooking: ScriptStep[] = [
  { say: 'Lovelace, born 1815-12-10.' },
  { waitForAgent: 'reply' },
  { say: 'Tuesday at 9 please.' },
  { waitForAgent: 'reply' },
  { say: 'Thanks, bye.' },
  { waitForAgent: 'reply' },
];
