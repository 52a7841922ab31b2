/**
 * The one event union of a call. Children talk to the call machine with these (sendBack), and the machine talks
 * to its children with the *Command types below (sendTo). Names are `SOURCE.WHAT`.
 *
 * Timestamps (`at`) are epoch milliseconds with sub-millisecond precision (see `actors/clock.ts`), taken by the
 * child when the thing happened, so the machine stays pure and tests can feed any time they like.
 */

/** One Twilio custom parameter map (`<Parameter name value>` → `start.customParameters`). */
export type CustomParameters = Readonly<Record<string, string>>;

// ── Transport (Twilio Media Stream) → machine ───────────────────────────────────────────────────────────────
export type TransportStart = {
  type: 'TRANSPORT.START';
  streamSid: string;
  callSid: string;
  accountSid: string;
  customParameters: CustomParameters;
  at: number;
};
/** Twilio echoed a mark. `played` is false when the echo was caused by our `clear` (the audio was NOT heard). */
export type TransportMark = { type: 'TRANSPORT.MARK'; name: string; played: boolean; at: number };
/** The first outbound media frame after the line was idle (nothing unplayed queued at Twilio). */
export type TransportAudioStarted = { type: 'TRANSPORT.AUDIO_STARTED'; at: number };
export type TransportDtmf = { type: 'TRANSPORT.DTMF'; digit: string; at: number };
/**
 * Twilio `stop`, or the media socket closed. The call is over. `rejected` = the stream never presented a valid
 * `start` (bad or missing stream token, or none within the start timeout) and the transport closed it.
 */
export type TransportStop = { type: 'TRANSPORT.STOP'; reason: 'stop' | 'socket-closed' | 'rejected'; at: number };

// ── STT (Deepgram live) → machine ──────────────────────────────────────────────────────────────────────────
/** A non-empty interim transcript (is_final false). Empty transcripts are never sent. */
export type SttInterim = { type: 'STT.INTERIM'; text: string; at: number };
/**
 * An is_final transcript; `speechFinal` mirrors Deepgram's speech_final (endpointing silence seen). `text` is empty
 * only with `speechFinal` true: Deepgram sends an empty speech_final when every word of the utterance already came in
 * earlier is_final results, and that still ends the turn.
 */
export type SttFinal = { type: 'STT.FINAL'; text: string; speechFinal: boolean; at: number };
/** Deepgram UtteranceEnd: word-timing based end of speech, the fallback when speech_final never comes. */
export type SttUtteranceEnd = { type: 'STT.UTTERANCE_END'; at: number };
export type SttSpeechStarted = { type: 'STT.SPEECH_STARTED'; at: number };
/**
 * STT trouble. `recoverable: true` = the socket dropped and the actor is reconnecting (audio is buffered meanwhile);
 * `recoverable: false` = it gave up. The call goes on either way (the caller can still hear the agent).
 */
export type SttError = { type: 'STT.ERROR'; message: string; recoverable: boolean; at: number };
/** The STT socket is (re)open; `resentBytes` = buffered caller audio replayed after a reconnect. */
export type SttConnected = { type: 'STT.CONNECTED'; resentBytes: number; at: number };

// ── STT, turn-taking engines only (Deepgram Flux /v2/listen) ─────────────────────────────────────────────────
// Flux `Update` maps to STT.INTERIM and `EndOfTurn` to STT.FINAL {speechFinal: true} with the whole turn's text, so
// the Nova events above keep their meaning; these three carry what only a turn-taking engine knows.
/** Flux `StartOfTurn`: the caller started a turn (model-based, usually before the first word is transcribed). */
export type SttTurnStarted = { type: 'STT.TURN_STARTED'; text: string; at: number };
/** Flux `EagerEndOfTurn`: the turn is probably over; `text` is the turn's transcript so far (never empty). */
export type SttEagerEnd = { type: 'STT.EAGER_END'; text: string; at: number };
/** Flux `TurnResumed` (only after an EagerEndOfTurn): the caller went on talking. */
export type SttTurnResumed = { type: 'STT.TURN_RESUMED'; at: number };

// ── TTS (Deepgram speak) → machine ─────────────────────────────────────────────────────────────────────────
/** First audio byte from Deepgram for a response (first audio after the TTS was idle or cleared). */
export type TtsFirstAudio = { type: 'TTS.FIRST_AUDIO'; at: number };
/** Deepgram confirmed our Clear: no more audio of the cleared text will come. */
export type TtsCleared = { type: 'TTS.CLEARED'; at: number };
export type TtsError = { type: 'TTS.ERROR'; message: string; recoverable: boolean; at: number };

// ── LLM (one actor per turn) → machine ─────────────────────────────────────────────────────────────────────
export type LlmText = { type: 'LLM.TEXT'; text: string; at: number };
/** One complete tool call of the current inference round (arguments parsed; `argsError` = they were not JSON). */
export type LlmToolCall = {
  type: 'LLM.TOOL_CALL';
  id: string;
  name: string;
  args: Readonly<Record<string, unknown>>;
  argsError?: string;
  at: number;
};
export type LlmDone = { type: 'LLM.DONE'; at: number };
export type LlmError = { type: 'LLM.ERROR'; message: string; at: number };

// ── Tool runner (one per tool round) → machine ─────────────────────────────────────────────────────────────
/**
 * The outcome of one tool call: `ok: false` = an error result the model sees (the tool threw, timed out, got invalid
 * arguments, or does not exist). `content` is what the model receives (a string; JSON for structured values).
 */
export type ToolResult = {
  type: 'TOOL.RESULT';
  id: string;
  name: string;
  ok: boolean;
  content: string;
  startedAt: number;
  at: number;
};

// ── Flow (the agent's conversation flow, machines/flow-step.ts) → machine ───────────────────────────────────
export type HistoryStrategy = 'keep' | 'reset' | 'summary';

/** The `flow` child → the machine: the flow entered `step` (also the initial step, when the child starts). */
export type FlowStepEvent = {
  type: 'FLOW.STEP';
  step: string;
  /** The flow event that led here (null: the initial step). */
  cause: string | null;
  /** Added to the agent's system prompt while the step is active. */
  instructions: string;
  /** The developer (function) tools offered in this step; the control tools are always offered. */
  tools: readonly string[];
  /** What happens to the conversation so far on entering the step. */
  history: HistoryStrategy;
  /** Said at once when the step is entered during a reply (a spoken bridge over the transition); null = nothing. */
  say: string | null;
  /** A transfer target's name: entering the step transfers the call once the reply has played. */
  transferTo: string | null;
  /** The flow's context after the event that led here. */
  context: Readonly<Record<string, unknown>>;
  at: number;
};

// ── The machine to itself ──────────────────────────────────────────────────────────────────────────────────
/**
 * Raised by the machine when the last mark of what the agent is saying (a fixed phrase or a finished reply) came
 * back: playback is over. Never sent by a child.
 */
export type SpeechPlayedOut = { type: 'SPEECH.PLAYED_OUT' };

// ── Server → machine ───────────────────────────────────────────────────────────────────────────────────────
/**
 * Hang up from outside (operator, shutdown after the drain timeout). `polite`: say the goodbye phrase first (as
 * the drain does for calls still up at its timeout); otherwise the line is closed at once.
 */
export type CallHangup = { type: 'CALL.HANGUP'; reason: string; polite?: boolean };
/** Twilio answering-machine detection result for an outbound call (the signed AMD status callback). */
export type CallAnsweredBy = { type: 'CALL.ANSWERED_BY'; answeredBy: AnsweredBy; at: number };
/** Twilio's `AnsweredBy`, reduced to what changes the call's course. */
export type AnsweredBy = 'human' | 'machine' | 'unknown';

export type CallEvent =
  | FlowStepEvent
  | TransportStart
  | TransportMark
  | TransportAudioStarted
  | TransportDtmf
  | TransportStop
  | SttInterim
  | SttFinal
  | SttUtteranceEnd
  | SttSpeechStarted
  | SttError
  | SttConnected
  | SttTurnStarted
  | SttEagerEnd
  | SttTurnResumed
  | TtsFirstAudio
  | TtsCleared
  | TtsError
  | LlmText
  | LlmToolCall
  | LlmDone
  | LlmError
  | ToolResult
  | SpeechPlayedOut
  | CallHangup
  | CallAnsweredBy;

// ── Machine → children (commands) ──────────────────────────────────────────────────────────────────────────
/**
 * To the transport actor. CLEAR = Twilio `clear` (and drop anything held); HANGUP = close the media socket (Twilio
 * then ends the call). HOLD = keep outbound audio and marks back (a speculative reply: nothing reaches the caller);
 * RELEASE = send what was held, at once, and stop holding.
 */
export type TransportCommand =
  | { type: 'TRANSPORT.CLEAR' }
  | { type: 'TRANSPORT.HANGUP' }
  | { type: 'TRANSPORT.HOLD' }
  | { type: 'TRANSPORT.RELEASE' };

/**
 * To the TTS actor.
 * - SPEAK: text to synthesise (a sentence or clause; never a single token).
 * - FLUSH: ends segment `segment`; when Deepgram answers Flushed, the TTS actor asks the transport to send a Twilio
 *   mark named `segment` right after that segment's audio.
 * - SAY: a whole fixed phrase (greeting, re-prompt, apology, goodbye) as its own segment; served from the phrase
 *   cache when present (no Deepgram round trip), else Speak+Flush. Keeps order with audio already queued.
 * - CLEAR: Deepgram Clear; audio is dropped until Cleared, pending flushes are forgotten (no marks for them).
 */
export type TtsCommand =
  | { type: 'TTS.SPEAK'; text: string }
  | { type: 'TTS.FLUSH'; segment: string }
  | { type: 'TTS.SAY'; text: string; segment: string }
  | { type: 'TTS.CLEAR' };

/** One tool call as the model made it (provider-neutral; the id is the provider's). */
export type ToolCall = { readonly id: string; readonly name: string; readonly args: Readonly<Record<string, unknown>> };

/**
 * The conversation in a provider-neutral form. An assistant message may carry the tool calls of one round; each
 * call is answered by exactly one `tool` message with the same id, right after it. The LLM actor maps this to
 * OpenAI (`assistant.tool_calls` + `role: "tool"`) or Anthropic (`tool_use` blocks + one user message of
 * `tool_result` blocks).
 */
export type ChatMessage =
  | { readonly role: 'system' | 'user'; readonly content: string }
  | { readonly role: 'assistant'; readonly content: string; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly name: string; readonly content: string; readonly isError: boolean };

/** A tool as the model sees it: name, description and a JSON Schema object for its arguments. */
export type LlmToolSpec = { readonly name: string; readonly description: string; readonly parameters: Readonly<Record<string, unknown>> };

/**
 * Input of one LLM inference round: the whole conversation so far (system prompt first), the tools offered, and
 * how long the stream may go quiet (no text, no tool call) before the actor gives up on it.
 */
export type LlmInput = {
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly LlmToolSpec[];
  readonly stallTimeoutMs: number;
};

/** Input of one tool round's runner: the function-tool calls to execute (control tools never reach it). */
export type ToolRunInput = { readonly calls: readonly ToolCall[] };
