/**
 * Twilio answering-machine detection for outbound calls (async AMD, DetectMessageEnd). The call runs from the
 * start; Twilio POSTs `AnsweredBy` to our signed `/amd` callback once it knows — for a human about as soon as they
 * have said hello, for a machine after its greeting and beep — and the server hands the live call a
 * `CALL.ANSWERED_BY` (the call machine then greets the human, or leaves the voicemail and hangs up).
 */
import type { AnsweredBy } from '../../machines/events.js';

/** What Twilio may send as `AnsweredBy` (`machine_start` only in `Enable` mode, which we do not use). */
export const TWILIO_ANSWERED_BY = [
  'human',
  'machine_start',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
  'fax',
  'unknown',
] as const;
export type TwilioAnsweredBy = (typeof TWILIO_ANSWERED_BY)[number];

export function isTwilioAnsweredBy(value: string): value is TwilioAnsweredBy {
  return (TWILIO_ANSWERED_BY as readonly string[]).includes(value);
}

/**
 * Twilio's answer reduced to what changes the call: every machine ending (beep, silence, other) means "leave the
 * message now"; a fax is no person either, so it gets the machine's course (message, hang up) rather than a
 * conversation nobody hears.
 */
export function answeredByOf(value: TwilioAnsweredBy): AnsweredBy {
  if (value === 'human') return 'human';
  if (value === 'unknown') return 'unknown';
  return 'machine';
}

/** Stream `<Parameter>`s: `Amd` marks a call whose machine waits for the AMD result; `Voicemail` is its message. */
export const AMD_PARAMETER = 'Amd';
export const VOICEMAIL_PARAMETER = 'Voicemail';

/**
 * The outbound call's stream parameters, from the query string of its `/voice` URL (which Twilio signed, so it is
 * ours: see `voiceUrlFor`). Inbound calls have none.
 */
export function amdStreamParameters(query: URLSearchParams): Array<{ name: string; value: string }> {
  if (query.get(AMD_PARAMETER) !== '1') return [];
  const out = [{ name: AMD_PARAMETER, value: '1' }];
  const voicemail = query.get(VOICEMAIL_PARAMETER)?.trim();
  if (voicemail) out.push({ name: VOICEMAIL_PARAMETER, value: voicemail });
  return out;
}
