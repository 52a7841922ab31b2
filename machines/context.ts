import type { ChatMessage, CustomParameters } from './events.js';
import type { FlowStep } from './flow-step.js';
import type { CallOptions } from './options.js';
import { newRound, type ToolRound } from './tool-round.js';

/**
 * What the machine receives from the server (`createActor(callMachine, { input })`): the agent's default options.
 * The `configure` child may replace them per call once Twilio's `start` has said who is calling.
 */
export type CallInput = { readonly options: CallOptions };

/** Who is on the line, from Twilio's `start` and the TwiML `<Parameter>`s. */
export type CallInfo = {
  readonly callSid: string;
  readonly streamSid: string;
  readonly from: string;
  readonly to: string;
  /** Twilio's `Direction` (`inbound`, `outbound-api`, …); '' when unknown. */
  readonly direction: string;
  readonly customParameters: CustomParameters;
};

/** Input of the `configure` child: the call and the agent's default options; its output is this call's options. */
export type ConfigureInput = { readonly call: CallInfo; readonly options: CallOptions };

/** Input of the `transfer` child. */
export type TransferInput = { readonly callSid: string; readonly to: string };

export type PhraseKind = 'greeting' | 'reprompt' | 'apology' | 'goodbye' | 'transfer' | 'voicemail';
/** `resumed`: what a false interruption cut off, said again (its heard text joins the agent's last message). */
export type SpeechKind = PhraseKind | 'reply' | 'resumed' | 'none';

/**
 * One flushed piece of agent audio. Its Twilio mark is named `name`; `heard` is null until the mark is echoed,
 * then the echo's `played` (false = echoed because of our `clear`, so the caller did NOT hear it).
 */
export type Segment = { readonly name: string; readonly text: string; readonly heard: boolean | null };

/** What the agent is saying now (a fixed phrase or an LLM reply), tracked segment by segment. */
export type AgentSpeech = {
  readonly kind: SpeechKind;
  readonly segments: readonly Segment[];
  /** LLM text received but not yet sent to TTS (an unfinished sentence). */
  readonly buffer: string;
  /** Text sent with TTS.SPEAK but not yet ended by a TTS.FLUSH. */
  readonly open: string;
  /** No more text will come (fixed phrase, or LLM.DONE / LLM.ERROR seen). */
  readonly complete: boolean;
};

/** Per-turn latency marks (epoch ms from the events' `at`), for metrics. */
export type TurnTimestamps = {
  readonly userSpeechEndAt: number | null;
  readonly llmFirstTextAt: number | null;
  readonly ttsFirstAudioAt: number | null;
  readonly firstAudioToTwilioAt: number | null;
};

/** What the caller said (or typed) that no turn has answered yet. */
export type CallerInput = {
  /** is_final transcripts not answered yet. */
  readonly pending: readonly string[];
  /** Keys pressed and not answered yet (terminator included). */
  readonly digits: string;
  /** An end-of-turn signal (speech_final / UtteranceEnd) seen for `pending` that could not be acted on yet. */
  readonly endOfTurnAt: number | null;
  readonly lastFinalAt: number | null;
};

/** The caller's current (or last) turn and what the agent decided in it. A new turn starts from a fresh one. */
export type Turn = {
  /** Turns started so far; names the reply segments (`t3-s2`). */
  readonly number: number;
  /** The utterance the turn answers (moved out of the caller's pending input when the turn starts). */
  readonly userText: string;
  readonly timestamps: TurnTimestamps;
  /**
   * A reply started on a probable end of turn (Flux EagerEndOfTurn, state `speculating`): its audio is held back until
   * the end of turn is confirmed. `pendingBefore` is what was pending before the eager transcript, restored if it is
   * discarded.
   */
  readonly speculation: { readonly pendingBefore: readonly string[] } | null;
  /** The LLM called end_call: say goodbye once the current reply has played. */
  readonly hangupAfterReply: boolean;
  /** The LLM called transfer_call with an allowed target: this number is dialled once the reply has played. */
  readonly transferTo: string | null;
  /** Re-prompts since the caller last took a turn. */
  readonly reprompts: number;
};

/** The tool loop of the current turn. */
export type ToolsProgress = {
  /** The inference round in progress: its text and tool calls. */
  readonly round: ToolRound;
  /** This turn's completed tool rounds (their results reach the model in the next round). */
  readonly rounds: readonly ToolRound[];
  /** The filler delay passed while something was playing: say the filler once playback ends. */
  readonly fillerDue: boolean;
  /** The caller spoke while tools that may not be cancelled were running: end the turn when they finish. */
  readonly callerSpokeDuringTools: boolean;
};

/** The call's context, grouped: the call itself (options, who, history, end), the caller's unanswered input, the
 * turn, what the agent says, and the tool loop. Starting a turn replaces `turn` and `tools` whole. */
export type CallContext = {
  readonly options: CallOptions;
  /** null until Twilio's `start`. */
  readonly call: CallInfo | null;
  /** The conversation as the caller experienced it: user turns and the assistant text they actually heard. */
  readonly history: readonly ChatMessage[];
  readonly endReason: string | null;
  /** Fixed phrases said so far; names their segments (`reprompt-2`). */
  readonly phrases: number;
  readonly caller: CallerInput;
  readonly turn: Turn;
  readonly speech: AgentSpeech;
  /**
   * The texts of the segments a barge-in cut off (from the first one the caller did not hear to the end), kept when
   * `interrupted` is left for `paused`: said again if the barge-in turns out to be noise. Read only there.
   */
  readonly unheard: readonly string[];
  readonly tools: ToolsProgress;
  /** The conversation flow's active step (null: the agent has no flow); see flow-step.ts. */
  readonly flow: FlowStep | null;
};

export const silentSpeech: AgentSpeech = { kind: 'none', segments: [], buffer: '', open: '', complete: true };

export const emptyTimestamps: TurnTimestamps = {
  userSpeechEndAt: null,
  llmFirstTextAt: null,
  ttsFirstAudioAt: null,
  firstAudioToTwilioAt: null,
};

export const noCallerInput: CallerInput = { pending: [], digits: '', endOfTurnAt: null, lastFinalAt: null };

/** Turn `number` answering `userText`; the caller stopped speaking at `userSpeechEndAt`. */
export function newTurn(number: number, userText: string, userSpeechEndAt: number | null, speculation: Turn['speculation'] = null): Turn {
  return {
    number,
    userText,
    timestamps: { ...emptyTimestamps, userSpeechEndAt },
    speculation,
    hangupAfterReply: false,
    transferTo: null,
    reprompts: 0,
  };
}

export const newToolsProgress = (): ToolsProgress => ({ round: newRound(1, 0), rounds: [], fillerDue: false, callerSpokeDuringTools: false });

export function initialContext(input: CallInput): CallContext {
  return {
    options: input.options,
    call: null,
    history: [],
    endReason: null,
    phrases: 0,
    caller: noCallerInput,
    turn: newTurn(0, '', null),
    speech: silentSpeech,
    unheard: [],
    tools: newToolsProgress(),
    flow: null,
  };
}
