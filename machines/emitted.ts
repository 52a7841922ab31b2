import type { SpeechKind, TurnTimestamps } from './context.js';

/**
 * Events the call machine emits (XState `emit`) for the outside world: the server subscribes with
 * `actor.on('call.turn', …)` for logs and metrics. Children never see them.
 */

export type CallStartedEmitted = {
  type: 'call.started';
  callSid: string;
  streamSid: string;
  at: number;
};

/** The caller finished a turn; `text` is every pending final joined. */
export type UserUtteranceEmitted = { type: 'call.userUtterance'; turn: number; text: string; at: number | null };

/** A reply ended: played out (`interrupted: false`) or cut by a barge-in. `assistantText` = what was heard. */
export type TurnEmitted = {
  type: 'call.turn';
  turn: number;
  userText: string;
  assistantText: string;
  interrupted: boolean;
  timestamps: TurnTimestamps;
};

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

export type ErrorSource = 'transport' | 'stt' | 'tts' | 'llm';
export type ErrorEmitted = {
  type: 'call.error';
  source: ErrorSource;
  message: string;
  /** false = the machine changed course because of it (apology, goodbye or end of call). */
  recoverable: boolean;
};

export type EndedEmitted = { type: 'call.ended'; reason: string };

export type CallEmitted =
  | CallStartedEmitted
  | UserUtteranceEmitted
  | TurnEmitted
  | BargeInEmitted
  | ErrorEmitted
  | EndedEmitted;
