/**
 * One call as the console shows it live, kept only while a console is connected. Fed by the call machine's
 * snapshots (state, and the agent's speech as its marks come back: the line grows as the caller hears it) and by
 * what it emits (caller turns, replies with their cut part, tools, latency). Each meaningful change becomes one
 * small FeedMessage; snapshots that change nothing shown cost a few reference comparisons.
 */
import type { StateValue } from 'xstate';
import type { AgentSpeech, CallContext } from '../../machines/context.js';
import type { CallEmitted, FlowStepEmitted, TurnEmitted } from '../../machines/emitted.js';
import { heardText } from '../../machines/heard.js';
import type { FeedMessage, LiveCall, LiveLatency, LiveLine, LiveTool } from './feed-types.js';

/** What the view reads of a call machine snapshot. */
/** What follows a call while a console looks: the call session calls these (see CallHandle.watch). */
export interface CallWatcher {
  snapshot(snapshot: CallSnapshotLike): void;
  emitted(event: CallEmitted): void;
  ended(): void;
}

export interface CallSnapshotLike {
  readonly value: StateValue;
  readonly context: CallContext;
}

/** Results longer than this are shortened: the feed carries what a person reads, not payloads. */
const MAX_RESULT_CHARS = 300;

export class LiveCallView {
  private call: LiveCall | null = null;
  private ended = false;
  private lastSpeech: AgentSpeech | null = null;
  private lastHistory: CallContext['history'] = [];
  /** Transcript line of each speech (`reply:<turn>` or `phrase:<segment>`), to grow it or mark its cut. */
  private readonly speechLines = new Map<string, number>();
  private readonly tools = new Map<string, number>();

  constructor(
    private readonly agent: string | null,
    private readonly send: (message: FeedMessage) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The call as shown now; null until its stream has started (an unauthenticated stream is never shown) and once over. */
  current(): LiveCall | null {
    return this.ended ? null : this.call;
  }

  /** The call is over (said once, whether the machine emitted call.ended or just stopped). */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.call !== null) this.send({ type: 'ended', callSid: this.call.callSid, reason });
  }

  snapshot(s: CallSnapshotLike): void {
    const ctx = s.context;
    if (this.ended) return;
    if (this.call === null) {
      if (ctx.call === null) return;
      this.call = this.join(s);
      this.send({ type: 'call', call: this.call });
      return;
    }
    const state = stateLabel(s.value);
    if (state !== this.call.state) {
      this.call.state = state;
      this.send({ type: 'state', callSid: this.call.callSid, state });
    }
    if (ctx.speech !== this.lastSpeech) {
      const before = this.lastSpeech;
      this.lastSpeech = ctx.speech;
      // A phrase's last mark and its commit to history happen in one step (no snapshot between): its final text is
      // what history gained. (A reply's comes with its call.turn.)
      if (before !== null && before.kind !== 'reply' && before.kind !== 'none' && ctx.history !== this.lastHistory) {
        const added = assistantTextAdded(this.lastHistory, ctx.history);
        const key = `phrase:${before.segments[0]?.name ?? ''}`;
        const at = this.speechLines.get(key);
        // A phrase already shown cut keeps its cut.
        if (added !== '' && (at === undefined || this.lines()[at]?.cut === undefined)) this.putSpeechLine(key, { role: 'agent', text: added });
      }
      this.followSpeech(ctx);
    }
    this.lastHistory = ctx.history;
  }

  emitted(e: CallEmitted): void {
    const call = this.call;
    if (call === null || this.ended) return;
    switch (e.type) {
      case 'call.userUtterance':
        if (e.text.trim() !== '') this.append({ role: 'caller', text: e.text });
        break;
      case 'call.turn':
        this.turnEnded(e);
        break;
      case 'call.bargeIn':
        // A cut reply gets its cut with its call.turn; a cut phrase (greeting, re-prompt) only here.
        if (e.during !== 'reply' && e.cut !== '') this.putSpeechLine(this.phraseKey(), { role: 'agent', text: e.heard, cut: e.cut });
        break;
      case 'call.toolStarted':
        this.tool({ id: e.id, name: e.name, args: { ...e.args }, status: 'running' });
        break;
      case 'call.toolFinished':
        this.tool({
          id: e.id,
          name: e.name,
          args: { ...e.args },
          status: e.outcome,
          result: shorten(e.content),
          durationMs: Math.round((e.at - e.startedAt) * 10) / 10,
        });
        break;
      case 'call.flowStep':
        this.stepEntered(e);
        break;
      case 'call.ended':
        this.end(e.reason);
        break;
      default:
        break;
    }
  }

  /** A console connected mid-call: the conversation so far from the machine's history (heard text only). */
  private join(s: CallSnapshotLike): LiveCall {
    const ctx = s.context;
    const info = ctx.call ?? { callSid: '', from: '', to: '', direction: '' };
    const lines: LiveLine[] = [];
    for (const m of ctx.history) {
      if (m.role === 'user' && m.content !== '') lines.push({ role: 'caller', text: m.content });
      if (m.role === 'assistant' && m.content !== '') lines.push({ role: 'agent', text: m.content });
    }
    // Tools of the turns already over stay on the card (history keeps their calls and results; durations are gone).
    const tools = toolsOf(ctx.history);
    tools.forEach((tool, i) => this.tools.set(tool.id, i));
    if (inRespond(s.value) && ctx.turn.userText !== '') lines.push({ role: 'caller', text: ctx.turn.userText });
    const call: LiveCall = {
      callSid: info.callSid,
      from: info.from,
      to: info.to,
      direction: info.direction,
      agent: this.agent,
      startedAt: this.now(),
      state: stateLabel(s.value),
      ...(ctx.flow === null ? {} : { step: ctx.flow.step }),
      lines,
      tools,
      latency: null,
    };
    this.call = call;
    this.lastSpeech = ctx.speech;
    this.lastHistory = ctx.history;
    const heard = heardText(ctx.speech);
    if (ctx.speech.kind !== 'none' && heard !== '') {
      this.speechLines.set(this.speechKey(ctx), lines.length);
      lines.push({ role: 'agent', text: heard });
    }
    return call;
  }

  private followSpeech(ctx: CallContext): void {
    if (ctx.speech.kind === 'none') return;
    const text = heardText(ctx.speech);
    if (text === '') return;
    const key = this.speechKey(ctx);
    const at = this.speechLines.get(key);
    if (at === undefined || this.lines()[at]?.text !== text) this.putSpeechLine(key, { role: 'agent', text });
  }

  private turnEnded(e: TurnEmitted): void {
    const call = this.call;
    if (call === null) return;
    const key = `reply:${e.turn}`;
    const cut = e.interrupted ? cutOf(e.generatedText, e.assistantText) : '';
    const line: LiveLine = cut === '' ? { role: 'agent', text: e.assistantText } : { role: 'agent', text: e.assistantText, cut };
    // A reply never shown and empty (cut before a word was heard, nothing generated) adds no line.
    if (this.speechLines.has(key) || line.text !== '' || cut !== '') this.putSpeechLine(key, line);
    const t = e.timestamps;
    const latency: LiveLatency = {
      turn: e.turn,
      llmMs: span(t.userSpeechEndAt, t.llmFirstTextAt),
      ttsMs: span(t.llmFirstTextAt, t.ttsFirstAudioAt),
      transportMs: span(t.ttsFirstAudioAt, t.firstAudioToTwilioAt),
      totalMs: span(t.userSpeechEndAt, t.firstAudioToTwilioAt),
      interrupted: e.interrupted,
    };
    if (latency.totalMs === null && latency.llmMs === null) return; // nothing measured (e.g. cut before any audio)
    call.latency = latency;
    this.send({ type: 'latency', callSid: call.callSid, latency });
  }

  /** The flow entered a step: the card's step changes and, unless it is the initial step, the transcript marks it. */
  private stepEntered(e: FlowStepEmitted): void {
    const call = this.call;
    if (call === null) return;
    if (call.step !== e.step) {
      call.step = e.step;
      this.send({ type: 'step', callSid: call.callSid, step: e.step });
    }
    if (e.from !== null) this.append(e.event === null ? { role: 'step', text: e.step } : { role: 'step', text: e.step, event: e.event });
  }

  /** The transcript line of speech `key`: replaced where it is, or appended (and remembered) the first time. */
  private putSpeechLine(key: string, line: LiveLine): void {
    const at = this.speechLines.get(key);
    if (at !== undefined) return this.replace(at, line);
    this.speechLines.set(key, this.lines().length);
    this.append(line);
  }

  private tool(tool: LiveTool): void {
    const call = this.call;
    if (call === null) return;
    const at = this.tools.get(tool.id);
    if (at === undefined) {
      this.tools.set(tool.id, call.tools.length);
      call.tools.push(tool);
    } else call.tools[at] = tool;
    this.send({ type: 'tool', callSid: call.callSid, tool });
  }

  private lines(): LiveLine[] {
    return this.call?.lines ?? [];
  }

  private append(line: LiveLine): void {
    const lines = this.lines();
    lines.push(line);
    this.send({ type: 'lines', callSid: this.call?.callSid ?? '', from: lines.length - 1, lines: [line] });
  }

  /** Line `at` changed: send it and what follows it (usually nothing). */
  private replace(at: number, line: LiveLine): void {
    const lines = this.lines();
    lines[at] = line;
    this.send({ type: 'lines', callSid: this.call?.callSid ?? '', from: at, lines: lines.slice(at) });
  }

  private speechKey(ctx: CallContext): string {
    return ctx.speech.kind === 'reply' ? `reply:${ctx.turn.number}` : `phrase:${ctx.speech.segments[0]?.name ?? ctx.phrases}`;
  }

  private phraseKey(): string {
    const speech = this.lastSpeech;
    return `phrase:${speech?.segments[0]?.name ?? ''}`;
  }
}

/** The state a person cares about: the innermost state name (`tooling` reads `tool`). */
export function stateLabel(value: StateValue): string {
  let v: StateValue = value;
  let name = typeof v === 'string' ? v : '';
  while (typeof v === 'object') {
    const [key, inner] = Object.entries(v)[0] ?? [];
    if (key === undefined || inner === undefined) break;
    name = key;
    v = inner;
    if (typeof v === 'string') name = v;
  }
  if (name === 'tooling') return 'tool';
  if (name === 'round') return 'thinking';
  return name;
}

function inRespond(value: StateValue): boolean {
  return typeof value === 'object' && typeof value.live === 'object' && value.live !== null && 'respond' in value.live;
}

/** What was generated but not heard: the generated text past the heard prefix. */
export function cutOf(generated: string, heard: string): string {
  const g = generated.replace(/\s+/g, ' ').trim();
  const h = heard.replace(/\s+/g, ' ').trim();
  return g.startsWith(h) ? g.slice(h.length).trim() : ''; // not a prefix: the cut cannot be told apart
}

/** The assistant text `after` has beyond `before` (appended, or merged into the last message). */
function assistantTextAdded(before: CallContext['history'], after: CallContext['history']): string {
  const last = after.at(-1);
  if (last === undefined || last.role !== 'assistant') return '';
  if (after.length > before.length) return last.content;
  const previous = before.at(-1);
  return previous?.role === 'assistant' && last.content.startsWith(previous.content) ? last.content.slice(previous.content.length).trim() : '';
}

/** The tool calls of finished rounds, from history: each call with its result (one per call id). */
function toolsOf(history: CallContext['history']): LiveTool[] {
  const results = new Map<string, { content: string; isError: boolean }>();
  for (const m of history) if (m.role === 'tool') results.set(m.toolCallId, { content: m.content, isError: m.isError });
  const tools: LiveTool[] = [];
  for (const m of history) {
    if (m.role !== 'assistant') continue;
    for (const call of m.toolCalls ?? []) {
      const result = results.get(call.id);
      tools.push({
        id: call.id,
        name: call.name,
        args: { ...call.args },
        status: result === undefined ? 'running' : result.isError ? 'error' : 'ok',
        ...(result === undefined ? {} : { result: shorten(result.content) }),
      });
    }
  }
  return tools;
}

function span(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && b >= a ? Math.round((b - a) * 10) / 10 : null;
}

function shorten(text: string): string {
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS - 1)}…` : text;
}
