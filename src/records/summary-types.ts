/**
 * The record of one call: what `GET /calls/:callSid` answers, what the post-call webhook posts and what the agent's
 * `onCallEnd(summary)` hook receives. Built from the call's event log by `buildCallSummary` / `CallSummaryBuilder`.
 * Times: ISO strings for the call's start/answer/end; `atMs` = ms since the media stream was accepted.
 */

import type { TransferRecord } from './transfers.js';

export type { TransferRecord };

export const CALL_SUMMARY_VERSION = 1;

export interface CallSummary {
  version: typeof CALL_SUMMARY_VERSION;
  callSid: string;
  streamSid: string | null;
  accountSid: string | null;
  /** Twilio's `Direction` (`inbound`, `outbound-api`, …); '' when the stream did not say. */
  direction: string;
  from: string;
  to: string;
  customParameters: Record<string, string>;
  /** The agent that ran the call (set by the server; null without one). */
  agent: string | null;
  /** The server instance that ran the call (INSTANCE_ID); null when rebuilt from an exported log. */
  instance: string | null;
  status: 'in-progress' | 'ended';
  /** The media stream was accepted. */
  startedAt: string;
  /** Twilio's `start` arrived (the caller is connected). */
  answeredAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  endReason: string | null;
  /** Outbound answering-machine detection, when it ran. */
  answeredBy: 'human' | 'machine' | 'unknown' | null;
  /** The conversation as the caller experienced it, in order. */
  conversation: ConversationEntry[];
  turns: TurnRecord[];
  bargeIns: BargeInRecord[];
  /** transfer_call requests: target, number, outcome (records stored before transfers were kept read back as []). */
  transfers: TransferRecord[];
  errors: CallErrorRecord[];
  /**
   * The agent's conversation flow (absent for agents without one): the steps it went through, the initial first.
   * `conversation` has a `step` entry for each, where it happened.
   */
  flow?: FlowRecord;
  eventLog: { entries: number; truncated: boolean };
}

export interface FlowRecord {
  path: string[];
}

export type ConversationEntry = CallerEntry | AgentEntry | ToolEntry | DtmfEntry | StepEntry;

/** One caller turn: every final transcript of it, joined (what the LLM was asked to answer). */
export interface CallerEntry {
  kind: 'caller';
  turn: number;
  text: string;
  atMs: number;
}

/**
 * Something the agent said: an LLM reply (`source: 'reply'`) or a fixed phrase. `heard` = the text of the segments
 * whose Twilio mark came back played; `generated` = everything produced for the caller; `interrupted` = a barge-in
 * cut it.
 */
export interface AgentEntry {
  kind: 'agent';
  /** `resumed`: what a false interruption cut off, said again (README "False interruptions"). */
  source: 'reply' | 'greeting' | 'reprompt' | 'apology' | 'goodbye' | 'resumed';
  /** The caller turn it answers (null for the greeting and other fixed phrases said outside a turn). */
  turn: number | null;
  heard: string;
  generated: string;
  interrupted: boolean;
  atMs: number;
}

export interface ToolEntry {
  kind: 'tool';
  turn: number;
  round: number;
  id: string;
  name: string;
  args: Record<string, unknown>;
  /** `pending` = the call ended before the tool finished. */
  outcome: 'ok' | 'error' | 'cancelled' | 'pending';
  /** What the model saw (the result, or the error text). */
  result: string;
  durationMs: number | null;
  atMs: number;
}

export interface DtmfEntry {
  kind: 'dtmf';
  turn: number;
  digits: string;
  atMs: number;
}

/**
 * The conversation flow entered a step, where it happened in the conversation (only agents with a flow have these).
 * The first one is the initial step (`from` and `event` null, turn 0); each later one a change a tool's event caused.
 */
export interface StepEntry {
  kind: 'step';
  step: string;
  from: string | null;
  event: string | null;
  /** The caller turn in progress when the flow moved (0: before the first). */
  turn: number;
  atMs: number;
}

/** The latency parts the metrics measure, per turn (ms; null when the turn never got that far). */
export interface TurnLatency {
  /** End of the caller's speech → the LLM request (the turn's LLM child started). */
  endOfSpeechToLlmRequestMs: number | null;
  llmRequestToFirstTextMs: number | null;
  firstTextToTtsAudioMs: number | null;
  ttsAudioToTwilioMs: number | null;
  /** End of speech → first reply audio sent to Twilio. */
  totalMs: number | null;
}

export interface TurnRecord {
  turn: number;
  userText: string;
  assistantText: string;
  generatedText: string;
  interrupted: boolean;
  latency: TurnLatency;
  /** The flow step the reply spoke from (the step active when it ended); absent without a flow. */
  step?: string;
}

export interface BargeInRecord {
  turn: number;
  during: string;
  callerText: string;
  heard: string;
  cut: string;
  atMs: number;
  /** The interrupting transcript → Twilio `clear` sent. */
  clearSentMs: number | null;
  /** The interrupting transcript → Deepgram confirmed the TTS Clear. */
  ttsClearedMs: number | null;
}

export interface CallErrorRecord {
  source: string;
  message: string;
  recoverable: boolean;
  atMs: number;
}

/** One line of `GET /calls`. */
export interface CallListItem {
  callSid: string;
  status: CallSummary['status'];
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  direction: string;
  from: string;
  to: string;
  agent: string | null;
  endReason: string | null;
  turns: number;
  bargeIns: number;
}

/** A summary stored before transfers were recorded reads as one with none. */
export function withTransfers(summary: CallSummary): CallSummary {
  return Array.isArray(summary.transfers) ? summary : { ...summary, transfers: [] };
}

export function listItemOf(summary: CallSummary): CallListItem {
  return {
    callSid: summary.callSid,
    status: summary.status,
    startedAt: summary.startedAt,
    endedAt: summary.endedAt,
    durationMs: summary.durationMs,
    direction: summary.direction,
    from: summary.from,
    to: summary.to,
    agent: summary.agent,
    endReason: summary.endReason,
    turns: summary.turns.length,
    bargeIns: summary.bargeIns.length,
  };
}
