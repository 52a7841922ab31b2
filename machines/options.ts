/** Per-call behaviour options, with declarative defaults (the server fills them from config). */
export interface CallOptions {
  /** Spoken first, from the phrase cache. */
  readonly greeting: string;
  /** Whether the caller may barge in over the greeting. */
  readonly greetingInterruptible: boolean;
  readonly systemPrompt: string;
  /** Words an interim/final transcript needs before it counts as a barge-in. */
  readonly minInterruptWords: number;
  /** Transcripts made only of these words never interrupt (backchannels). Compared lower-case, punctuation stripped. */
  readonly fillerWords: readonly string[];
  /** Silence in `listening` before a re-prompt. */
  readonly idleTimeoutMs: number;
  /** Re-prompts before the agent says goodbye and hangs up. */
  readonly maxReprompts: number;
  readonly repromptText: string;
  readonly goodbyeText: string;
  /** Spoken when the LLM fails or is too slow. */
  readonly apologyText: string;
  /** Time from end of turn to the first LLM text before we apologise. */
  readonly llmTimeoutMs: number;
  /** How long `interrupted` waits for TTS.CLEARED before going back to listening anyway. */
  readonly clearTimeoutMs: number;
}

export const defaultCallOptions = {
  greeting: 'Hello! Thanks for calling. How can I help you today?',
  greetingInterruptible: true,
  systemPrompt:
    'You are a friendly, concise phone assistant. Answer in one to three short spoken sentences. ' +
    'Call end_call when the caller says goodbye.',
  minInterruptWords: 1,
  fillerWords: ['uh-huh', 'mhm', 'mm', 'hmm', 'okay', 'ok', 'yeah', 'right'],
  idleTimeoutMs: 8000,
  maxReprompts: 2,
  repromptText: 'Are you still there?',
  goodbyeText: 'Thanks for calling. Goodbye!',
  apologyText: "Sorry, I'm having trouble right now. Could you say that again?",
  llmTimeoutMs: 8000,
  clearTimeoutMs: 1000,
} as const satisfies CallOptions;
