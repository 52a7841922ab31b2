/** Per-call behaviour options, with declarative defaults (the agent and the server's config fill them). */

/**
 * A tool offered to the model, as data (the machine never runs agent code: function tools run in the tool-runner
 * child). `control` tools are the machine's own: `end_call` (hang up after the reply) and `transfer_call` (to a
 * named target of `transferTargets`, after the announcement has played).
 */
export type ToolPolicy = {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments (an object schema). */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly kind: 'function' | 'end_call' | 'transfer_call';
  /** Barge-in or caller speech while it runs aborts it and discards its result (default true). */
  readonly cancelOnInterruption: boolean;
  /** Said once if the tool is still running after `toolFillerDelayMs` and nothing is playing; null = the default
   * filler, '' = none (a tool waiting for key presses). */
  readonly filler: string | null;
};

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
  /** Said before a transfer when the model announced nothing itself. */
  readonly transferText: string;
  /** Said while a slow tool runs when the tool has no filler of its own. */
  readonly toolFillerText: string;
  /** Time from end of turn to the first LLM text before we apologise; also how long a reply may stall. */
  readonly llmTimeoutMs: number;
  /** How long `interrupted` waits for TTS.CLEARED before going back to listening anyway. */
  readonly clearTimeoutMs: number;
  /**
   * A barge-in followed by no real words this long after the agent fell silent (no final transcript, an empty one,
   * or only filler words) was noise (a cough, a TV): the agent goes on from the start of the sentence it was cut
   * in. 0 = never resume (every barge-in ends the agent's speech).
   */
  readonly falseInterruptionTimeoutMs: number;
  /** Tools offered to the model in this call (function tools and the control tools). */
  readonly tools: readonly ToolPolicy[];
  /** The only numbers `transfer_call` may dial, by the name the model uses (never a number the model chose). */
  readonly transferTargets: Readonly<Record<string, string>>;
  /**
   * Why this call cannot transfer (no Twilio REST API configured, …); null = it can. A refused transfer_call is an
   * error result the model sees, before anything is announced to the caller.
   */
  readonly transferUnavailable: string | null;
  /** Inference rounds with tool calls per turn before the agent apologises instead. */
  readonly maxToolRounds: number;
  /** A tool running this long with nothing playing gets its filler said. */
  readonly toolFillerDelayMs: number;
  /** Left on an answering machine (outbound calls with answering-machine detection), then the call hangs up. */
  readonly voicemailText: string;
  /** How long an outbound call with answering-machine detection waits for Twilio's verdict before greeting. */
  readonly amdTimeoutMs: number;
  /** Key presses: this long after the last key the digits end the caller's turn… */
  readonly dtmfTimeoutMs: number;
  /** …or at once on this key ('' = none). */
  readonly dtmfTerminator: string;
  /** A key press while the agent talks interrupts it, like speech. */
  readonly dtmfInterrupts: boolean;
  /**
   * A turn-taking STT's start of turn (Flux StartOfTurn) while the agent talks interrupts it at once, before any
   * word is transcribed (its words, when it has some, must pass the barge-in rules). Off: only words interrupt.
   */
  readonly turnStartInterrupts: boolean;
  /** STT language (BCP-47, e.g. `en-US`); null = the engine's default. */
  readonly language: string | null;
  /** TTS voice model (e.g. `aura-2-thalia-en`); null = the server's default. */
  readonly voice: string | null;
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
  transferText: "I'm transferring you now. Please hold.",
  toolFillerText: 'One moment, please.',
  llmTimeoutMs: 8000,
  clearTimeoutMs: 1000,
  falseInterruptionTimeoutMs: 1500,
  tools: [],
  transferTargets: {},
  transferUnavailable: null,
  maxToolRounds: 5,
  toolFillerDelayMs: 700,
  voicemailText: 'Hello, we tried to reach you. Please call us back when you can. Goodbye!',
  amdTimeoutMs: 30_000,
  dtmfTimeoutMs: 1500,
  dtmfTerminator: '#',
  dtmfInterrupts: true,
  turnStartInterrupts: true,
  language: null,
  voice: null,
} as const satisfies CallOptions;
