import type { AgentSpeech, CallContext } from './context.js';

/** Speech runs ~15 characters per second; allow 90 ms per character plus 2 s of TTS and network slack. */
export function phraseTimeoutMs(speech: AgentSpeech): number {
  const characters = speech.segments.reduce((sum, segment) => sum + segment.text.length, 0);
  return 2000 + 90 * characters;
}

/**
 * The machine's named delays. `phraseTimeout` is the safety net for a fixed phrase whose mark never comes back
 * (a dead TTS socket must not leave the call stuck in `greeting`, `prompting` or `goodbye`).
 */
export const callDelays = {
  idleTimeout: ({ context }: { context: CallContext }) => context.options.idleTimeoutMs,
  llmTimeout: ({ context }: { context: CallContext }) => context.options.llmTimeoutMs,
  clearTimeout: ({ context }: { context: CallContext }) => context.options.clearTimeoutMs,
  /** After a barge-in, this long without real words: it was noise, the agent resumes. */
  falseInterruption: ({ context }: { context: CallContext }) => context.options.falseInterruptionTimeoutMs,
  phraseTimeout: ({ context }: { context: CallContext }) => phraseTimeoutMs(context.speech),
  /** Keys pressed, then nothing for this long: the digits end the caller's turn. */
  dtmfTimeout: ({ context }: { context: CallContext }) => context.options.dtmfTimeoutMs,
  /** An outbound call waits this long for the answering-machine verdict, then greets anyway. */
  amdTimeout: ({ context }: { context: CallContext }) => context.options.amdTimeoutMs,
  /** A tool round running this long with nothing playing gets its filler said. */
  toolFiller: ({ context }: { context: CallContext }) => context.options.toolFillerDelayMs,
  /** Twilio accepted the transfer but the media stream did not stop: hang up rather than hold the line open. */
  handoffTimeout: () => HANDOFF_TIMEOUT_MS,
} as const;

export const HANDOFF_TIMEOUT_MS = 10_000;

export type CallDelay = keyof typeof callDelays;

export function callDelayMs(delay: CallDelay, context: CallContext): number {
  return callDelays[delay]({ context });
}
