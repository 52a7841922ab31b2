import type { SpeechKind, TurnTimestamps } from './context.js';

/**
 * Events the call machine emits (XState `emit`) for the outside world: the server subscribes with
 * `actor.on('call.turn', …)` for logs and metrics. Children never see them.
 */

export type CallStartedEmitted = {
  type: 'call.started';
  callSid: string;
  streamSid: string;
  /** From the TwiML `<Parameter>`s (`From`, `To`, `Direction`); empty when absent. */
  from: string;
  to: string;
  /** Twilio's `Direction`: `inbound`, `outbound-api`, … */
  direction: string;
  customParameters: Readonly<Record<string, string>>;
  at: number;
};

/** The caller finished a turn; `text` is every pending final joined. */
export type UserUtteranceEmitted = { type: 'call.userUtterance'; turn: number; text: string; at: number | null };

/**
 * A reply ended: played out (`interrupted: false`) or cut by a barge-in. `assistantText` = what was heard,
 * `generatedText` = everything the LLM produced for the caller in this turn (all rounds), heard or not.
 */
export type TurnEmitted = {
  type: 'call.turn';
  turn: number;
  userText: string;
  assistantText: string;
  generatedText: string;
  interrupted: boolean;
  timestamps: TurnTimestamps;
};

/** The model called a tool (one event per call, when its round starts running). */
export type ToolStartedEmitted = {
  type: 'call.toolStarted';
  turn: number;
  round: number;
  id: string;
  name: string;
  args: Readonly<Record<string, unknown>>;
  at: number;
};

/**
 * A tool call finished: `ok` result or error result (both reach the model), or `cancelled` (the caller interrupted
 * and the tool's signal was aborted; the model never sees it).
 */
export type ToolFinishedEmitted = {
  type: 'call.toolFinished';
  turn: number;
  round: number;
  id: string;
  name: string;
  args: Readonly<Record<string, unknown>>;
  outcome: 'ok' | 'error' | 'cancelled';
  /** What the model sees ('' when cancelled). */
  content: string;
  /** transfer_call naming an allowed target: the number it dials (or would have dialled). */
  transferNumber?: string;
  startedAt: number;
  at: number;
};

/** The caller pressed keys; `digits` as collected (terminator included), ending a turn or not. */
export type DtmfEmitted = { type: 'call.dtmf'; turn: number; digits: string; at: number };

/** A speculative reply (started on an eager end of turn) was confirmed and released, or discarded unheard. */
export type SpeculationEmitted = { type: 'call.speculation'; turn: number; outcome: 'confirmed' | 'discarded'; at: number };

/**
 * The STT socket is open: once when the call goes live, again after each reconnect (then `resentBytes` of caller audio
 * buffered while it was down were replayed to it, so nothing the caller said is lost).
 */
export type SttConnectedEmitted = { type: 'call.sttConnected'; resentBytes: number; at: number };

/** Outbound answering-machine detection said who answered. */
export type AnsweredByEmitted = { type: 'call.answeredBy'; answeredBy: 'human' | 'machine' | 'unknown'; at: number };

/** The caller talked over the agent. `heard` = agent text they heard, `cut` = agent text dropped. */
export type BargeInEmitted = {
  type: 'call.bargeIn';
  turn: number;
  during: SpeechKind;
  callerText: string;
  heard: string;
  cut: string;
  at: number;
};

/** `agent`: the agent's onCallStart hook failed; `transfer`: the Twilio transfer failed; `tools`: the tool runner died. */
export type ErrorSource = 'transport' | 'stt' | 'tts' | 'llm' | 'agent' | 'transfer' | 'tools';
export type ErrorEmitted = {
  type: 'call.error';
  source: ErrorSource;
  message: string;
  /** false = the machine changed course because of it (apology, goodbye or end of call). */
  recoverable: boolean;
};

/** The conversation flow entered a step (`from` and `event` null: the initial step, at the start of the call). */
export type FlowStepEmitted = { type: 'call.flowStep'; step: string; from: string | null; event: string | null; turn: number; at: number };

export type EndedEmitted = { type: 'call.ended'; reason: string };

export type CallEmitted =
  | CallStartedEmitted
  | UserUtteranceEmitted
  | TurnEmitted
  | ToolStartedEmitted
  | ToolFinishedEmitted
  | DtmfEmitted
  | AnsweredByEmitted
  | SpeculationEmitted
  | SttConnectedEmitted
  | BargeInEmitted
  | ErrorEmitted
  | FlowStepEmitted
  | EndedEmitted;
