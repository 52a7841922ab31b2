/**
 * Folds a call's event log into its summary (the record). A pure function of the log, so a summary can be rebuilt
 * from any stored or exported log, and the live recorder feeds the builder the same entries it stores.
 */
import type { StateValue } from 'xstate';
import type { CallEmitted, TurnEmitted } from '../../machines/emitted.js';
import type { LogEntry } from './event-log.js';
import {
  CALL_SUMMARY_VERSION,
  type AgentEntry,
  type BargeInRecord,
  type CallSummary,
  type ConversationEntry,
  type ToolEntry,
  type TurnLatency,
  type TurnRecord,
} from './summary-types.js';
import { TransferTracker } from './transfers.js';

export type * from './summary-types.js';

type Received = { type: string } & Record<string, unknown>;
type PhraseSource = Exclude<AgentEntry['source'], 'reply'>;
const PHRASES: ReadonlySet<string> = new Set<PhraseSource>(['greeting', 'reprompt', 'apology', 'goodbye', 'resumed']);

export interface SummaryOptions {
  callSid: string;
  /** Epoch ms of the log's start (the media stream accepted). */
  t0: number;
  agent?: string | null;
  instance?: string | null;
}

export class CallSummaryBuilder {
  private readonly s: CallSummary;
  private readonly callerEntries = new Map<number, ConversationEntry>();
  private readonly repliedTurns = new Set<number>();
  private readonly phrases = new Map<string, AgentEntry>();
  private readonly tools = new Map<string, ToolEntry>();
  private readonly transfers = new TransferTracker();
  private readonly llmRequestAt = new Map<number, number>();
  private turn = 0;
  private inRespond = false;
  /** Barge-ins waiting for their Twilio clear / TTS Cleared. */
  private awaitingClear: BargeInRecord[] = [];
  /** The Twilio clear sent while handling the latest received event (the barge-in's clear precedes its emit). */
  private clearT: number | null = null;
  private awaitingCleared: BargeInRecord[] = [];
  private lastT = 0;

  constructor(private readonly opts: SummaryOptions) {
    this.s = {
      version: CALL_SUMMARY_VERSION,
      callSid: opts.callSid,
      streamSid: null,
      accountSid: null,
      direction: '',
      from: '',
      to: '',
      customParameters: {},
      agent: opts.agent ?? null,
      instance: opts.instance ?? null,
      status: 'in-progress',
      startedAt: iso(opts.t0),
      answeredAt: null,
      endedAt: null,
      durationMs: null,
      endReason: null,
      answeredBy: null,
      conversation: [],
      turns: [],
      bargeIns: [],
      transfers: [],
      errors: [],
      eventLog: { entries: 0, truncated: false },
    };
  }

  add(entry: LogEntry): void {
    this.s.eventLog.entries++;
    this.lastT = entry.t;
    if ('in' in entry) {
      this.clearT = null;
      this.received(entry.in as Received, entry.t);
    }
    else if ('emit' in entry) this.emitted(entry.emit, entry.t);
    else if ('cmd' in entry) this.command(entry.to, entry.cmd as Received, entry.t);
    else if ('start' in entry) {
      if (entry.start === 'llm' && this.turn > 0 && !this.llmRequestAt.has(this.turn)) this.llmRequestAt.set(this.turn, entry.t);
    } else if ('state' in entry) this.stateChanged(entry.state);
  }

  /**
   * The summary so far. `ended` closes it: status, end time (the `call.ended` time, else the last entry's) and
   * tools still running marked pending.
   */
  summary(opts: { ended: boolean; truncated?: boolean; endReason?: string } = { ended: false }): CallSummary {
    const s = this.s;
    s.eventLog.truncated = opts.truncated ?? s.eventLog.truncated;
    if (opts.ended && s.status !== 'ended') {
      s.status = 'ended';
      if (s.endedAt === null) s.endedAt = iso(this.opts.t0 + this.lastT);
      s.durationMs = round(Date.parse(s.endedAt) - this.opts.t0);
      s.endReason ??= opts.endReason ?? null;
    }
    // A copy the caller may keep: the builder goes on editing phrase, tool and barge-in entries in place.
    return {
      ...s,
      customParameters: { ...s.customParameters },
      conversation: s.conversation.map((e) => ({ ...e })),
      turns: [...s.turns],
      bargeIns: s.bargeIns.map((b) => ({ ...b })),
      transfers: this.transfers.list(),
      errors: [...s.errors],
      ...(s.flow === undefined ? {} : { flow: { path: [...s.flow.path] } }),
      eventLog: { ...s.eventLog },
    };
  }

  private received(event: Received, t: number): void {
    switch (event.type) {
      case 'TRANSPORT.START':
        this.s.answeredAt = iso(num(event['at']) ?? this.opts.t0 + t);
        this.s.accountSid = str(event['accountSid']);
        this.s.streamSid ??= str(event['streamSid']);
        return;
      case 'TRANSPORT.MARK': {
        const phrase = this.phrases.get(String(event['name']));
        if (phrase === undefined) return;
        if (event['played'] === true) phrase.heard = phrase.generated;
        else phrase.interrupted = true;
        return;
      }
      case 'TTS.CLEARED': {
        const at = num(event['at']) ?? this.opts.t0 + t;
        for (const b of this.awaitingCleared) b.ttsClearedMs = round(at - this.opts.t0 - b.atMs);
        this.awaitingCleared = [];
        return;
      }
      default:
        return;
    }
  }

  private command(to: string, cmd: Received, t: number): void {
    if (to === 'tts' && cmd.type === 'TTS.SAY') {
      const segment = String(cmd['segment']);
      const source = segment.split('-')[0] ?? '';
      if (!PHRASES.has(source)) return;
      const entry: AgentEntry = {
        kind: 'agent',
        source: source as PhraseSource,
        turn: (source === 'apology' || source === 'resumed') && this.turn > 0 ? this.turn : null,
        heard: '',
        generated: String(cmd['text']),
        interrupted: false,
        atMs: t,
      };
      this.phrases.set(segment, entry);
      this.s.conversation.push(entry);
    } else if (to === 'transport' && cmd.type === 'TRANSPORT.CLEAR') {
      this.clearT = t;
      for (const b of this.awaitingClear) b.clearSentMs = round(t - b.atMs);
      this.awaitingClear = [];
    }
  }

  private emitted(e: CallEmitted, t: number): void {
    this.transfers.add(e);
    const rel = (at: number | null): number => (at === null ? t : round(at - this.opts.t0));
    switch (e.type) {
      case 'call.started':
        Object.assign(this.s, { streamSid: e.streamSid, direction: e.direction, from: e.from, to: e.to });
        this.s.customParameters = { ...e.customParameters };
        return;
      case 'call.userUtterance': {
        this.turn = e.turn;
        const entry: ConversationEntry = { kind: 'caller', turn: e.turn, text: e.text, atMs: rel(e.at) };
        this.callerEntries.set(e.turn, entry);
        this.s.conversation.push(entry);
        return;
      }
      case 'call.turn':
        this.repliedTurns.add(e.turn);
        this.s.turns.push(this.turnRecord(e));
        this.s.conversation.push({
          kind: 'agent',
          source: 'reply',
          turn: e.turn,
          heard: e.assistantText,
          generated: e.generatedText,
          interrupted: e.interrupted,
          atMs: rel(e.timestamps.llmFirstTextAt ?? e.timestamps.userSpeechEndAt),
        });
        return;
      case 'call.bargeIn': {
        const atMs = rel(e.at);
        const b: BargeInRecord = { ...pick(e), atMs, clearSentMs: this.clearT === null ? null : round(this.clearT - atMs), ttsClearedMs: null };
        this.s.bargeIns.push(b);
        if (this.clearT === null) this.awaitingClear.push(b);
        this.awaitingCleared.push(b);
        return;
      }
      case 'call.toolStarted': {
        const entry: ToolEntry = {
          kind: 'tool',
          turn: e.turn,
          round: e.round,
          id: e.id,
          name: e.name,
          args: { ...e.args },
          outcome: 'pending',
          result: '',
          durationMs: null,
          atMs: rel(e.at),
        };
        this.tools.set(e.id, entry);
        this.s.conversation.push(entry);
        return;
      }
      case 'call.toolFinished': {
        let entry = this.tools.get(e.id);
        if (entry === undefined) {
          // Finished without a start seen (log truncated in between): still keep it.
          entry = { kind: 'tool', turn: e.turn, round: e.round, id: e.id, name: e.name, args: { ...e.args }, outcome: 'pending', result: '', durationMs: null, atMs: rel(e.startedAt) };
          this.tools.set(e.id, entry);
          this.s.conversation.push(entry);
        }
        entry.outcome = e.outcome;
        entry.result = e.content;
        entry.durationMs = round(e.at - e.startedAt);
        return;
      }
      case 'call.dtmf':
        this.s.conversation.push({ kind: 'dtmf', turn: e.turn, digits: e.digits, atMs: rel(e.at) });
        return;
      case 'call.answeredBy':
        this.s.answeredBy = e.answeredBy;
        return;
      case 'call.error':
        this.s.errors.push({ source: e.source, message: e.message, recoverable: e.recoverable, atMs: t });
        return;
      case 'call.flowStep':
        this.s.flow = { path: [...(this.s.flow?.path ?? []), e.step] };
        this.s.conversation.push({ kind: 'step', step: e.step, from: e.from, event: e.event, turn: e.turn, atMs: rel(e.at) });
        return;
      case 'call.ended':
        this.s.endReason = e.reason;
        this.s.endedAt = iso(this.opts.t0 + t);
        return;
    }
  }

  /** A turn whose LLM was cancelled because the caller went on talking: its words open the next caller entry. */
  private stateChanged(value: StateValue): void {
    const wasResponding = this.inRespond;
    this.inRespond = typeof value === 'object' && 'respond' in value;
    if (!wasResponding || this.inRespond || value !== 'listening' || this.repliedTurns.has(this.turn)) return;
    const entry = this.callerEntries.get(this.turn);
    if (entry === undefined) return;
    this.callerEntries.delete(this.turn);
    this.s.conversation.splice(this.s.conversation.indexOf(entry), 1);
  }

  private turnRecord(e: TurnEmitted): TurnRecord {
    const ts = e.timestamps;
    const requestT = this.llmRequestAt.get(e.turn);
    const request = requestT === undefined ? null : this.opts.t0 + requestT;
    const latency: TurnLatency = {
      endOfSpeechToLlmRequestMs: span(ts.userSpeechEndAt, request),
      llmRequestToFirstTextMs: span(request, ts.llmFirstTextAt),
      firstTextToTtsAudioMs: span(ts.llmFirstTextAt, ts.ttsFirstAudioAt),
      ttsAudioToTwilioMs: span(ts.ttsFirstAudioAt, ts.firstAudioToTwilioAt),
      totalMs: span(ts.userSpeechEndAt, ts.firstAudioToTwilioAt),
    };
    return {
      turn: e.turn,
      userText: e.userText,
      assistantText: e.assistantText,
      generatedText: e.generatedText,
      interrupted: e.interrupted,
      latency,
      ...(this.s.flow === undefined ? {} : { step: this.s.flow.path[this.s.flow.path.length - 1] }),
    };
  }
}

/** The summary of a whole stored or exported log. */
export function buildCallSummary(
  log: { callSid: string; t0: number; entries: readonly LogEntry[]; truncated?: boolean },
  opts: { agent?: string | null; ended?: boolean } = {},
): CallSummary {
  const builder = new CallSummaryBuilder({ callSid: log.callSid, t0: log.t0, agent: opts.agent ?? null });
  for (const entry of log.entries) builder.add(entry);
  const ended = opts.ended ?? log.entries.some((e) => 'emit' in e && e.emit.type === 'call.ended');
  return builder.summary({ ended, truncated: log.truncated ?? false });
}

function pick(e: Extract<CallEmitted, { type: 'call.bargeIn' }>) {
  return { turn: e.turn, during: e.during, callerText: e.callerText, heard: e.heard, cut: e.cut };
}

function span(from: number | null, to: number | null): number | null {
  return from === null || to === null ? null : round(to - from);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
