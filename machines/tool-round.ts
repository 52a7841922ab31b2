/**
 * One inference round's tool calls, as pure data: which tool each call names, the results of the calls the
 * machine answers itself (control tools, unknown names, bad arguments), the results the tool runner reports, and
 * the messages a finished round adds to the conversation.
 */
import type { ChatMessage, LlmToolCall, ToolCall, ToolResult } from './events.js';
import type { CallOptions, ToolPolicy } from './options.js';

export type ToolOutcome = { readonly ok: boolean; readonly content: string; readonly startedAt: number; readonly at: number };

export type RoundCall = ToolCall & {
  readonly kind: ToolPolicy['kind'] | 'invalid';
  readonly cancellable: boolean;
  readonly filler: string | null;
  /** null while the tool runs. */
  readonly outcome: ToolOutcome | null;
  /** For transfer_call: the number of the named target, set when the transfer will happen. */
  readonly transferTo?: string;
  /** For transfer_call naming an allowed target: its number (also when the transfer was refused). */
  readonly transferNumber?: string;
};

export type ToolRound = {
  /** 1-based within the turn. */
  readonly index: number;
  /** Segments of the reply said before this round began. */
  readonly firstSegment: number;
  /** What the model said in this round before (or between) its tool calls. */
  readonly text: string;
  readonly calls: readonly RoundCall[];
  /** Names of the speech segments said during this round (its text and any filler), set when it completes. */
  readonly segments: readonly string[];
};

export function newRound(index: number, firstSegment: number): ToolRound {
  return { index, firstSegment, text: '', calls: [], segments: [] };
}

const errorContent = (message: string): string => JSON.stringify({ error: message });

/** Adds a call; answers it at once unless it is a valid call of a function tool (that one runs in the runner). */
export function addToolCall(round: ToolRound, event: LlmToolCall, options: CallOptions): ToolRound {
  if (round.calls.some((call) => call.id === event.id)) return round;
  const policy = options.tools.find((tool) => tool.name === event.name);
  const base = { id: event.id, name: event.name, args: event.args, cancellable: true, filler: null };
  const answered = (ok: boolean, content: string, extra: Partial<RoundCall> = {}): RoundCall => ({
    ...base,
    kind: policy?.kind ?? 'invalid',
    outcome: { ok, content, startedAt: event.at, at: event.at },
    ...extra,
  });
  let call: RoundCall;
  if (policy === undefined) {
    const names = options.tools.map((tool) => tool.name).join(', ') || 'none';
    call = answered(false, errorContent(`Unknown tool "${event.name}". Available tools: ${names}.`), { kind: 'invalid' });
  } else if (event.argsError !== undefined) {
    call = answered(false, errorContent(`Invalid arguments: ${event.argsError}`));
  } else if (policy.kind === 'end_call') {
    call = answered(true, JSON.stringify({ status: 'The call will end once your reply has played.' }));
  } else if (policy.kind === 'transfer_call') {
    const target = event.args['target'];
    // Own keys only: a model naming "constructor" or "__proto__" must not reach Object.prototype.
    const to = typeof target === 'string' && Object.hasOwn(options.transferTargets, target) ? options.transferTargets[target] : undefined;
    const allowed = Object.keys(options.transferTargets).join(', ') || 'none';
    if (to === undefined) call = answered(false, errorContent(`Unknown transfer target ${JSON.stringify(target)}. Allowed targets: ${allowed}.`));
    // Refused before anything is announced: the model hears why and tells the caller something true instead.
    // (typeof: options recorded before this field existed, replayed from an old event log, lack it.)
    else if (typeof options.transferUnavailable === 'string') call = answered(false, errorContent(`Transfer unavailable: ${options.transferUnavailable}`), { transferNumber: to });
    else call = answered(true, JSON.stringify({ status: `Transferring to ${String(target)} once your announcement has played.` }), { transferTo: to, transferNumber: to });
  } else {
    call = { ...base, kind: 'function', cancellable: policy.cancelOnInterruption, filler: policy.filler, outcome: null };
  }
  return { ...round, calls: [...round.calls, call] };
}

export function addRoundText(round: ToolRound, text: string): ToolRound {
  return { ...round, text: round.text + text };
}

/** A tool runner result for one of this round's running calls (late, unknown or repeated results change nothing). */
export function recordToolResult(round: ToolRound, event: ToolResult): ToolRound {
  if (!round.calls.some((call) => call.id === event.id && call.outcome === null)) return round;
  const outcome: ToolOutcome = { ok: event.ok, content: event.content, startedAt: event.startedAt, at: event.at };
  return { ...round, calls: round.calls.map((call) => (call.id === event.id && call.outcome === null ? { ...call, outcome } : call)) };
}

/** The model must see results: a function tool ran, or a call was refused (it can apologise or retry). */
export function needsToolRound(round: ToolRound): boolean {
  return round.calls.some((call) => call.kind === 'function' || call.outcome?.ok === false);
}

export function runningCalls(round: ToolRound): RoundCall[] {
  return round.calls.filter((call) => call.outcome === null);
}

export function allResultsIn(round: ToolRound): boolean {
  return round.calls.every((call) => call.outcome !== null);
}

/** Caller speech may cancel the round only when every tool still running allows it. */
export function roundCancellable(round: ToolRound): boolean {
  return runningCalls(round).every((call) => call.cancellable);
}

export function hangupRequested(round: ToolRound): boolean {
  return round.calls.some((call) => call.kind === 'end_call' && call.outcome?.ok === true);
}

export function transferTarget(round: ToolRound): string | null {
  return round.calls.find((call) => call.transferTo !== undefined)?.transferTo ?? null;
}

export function fillerText(round: ToolRound, options: CallOptions): string {
  return runningCalls(round).find((call) => call.filler !== null)?.filler ?? options.toolFillerText;
}

/** The assistant's tool-call message and one result per call, in call order. */
export function roundMessages(round: ToolRound, assistantText: string): ChatMessage[] {
  return [
    { role: 'assistant', content: assistantText, toolCalls: round.calls.map(({ id, name, args }) => ({ id, name, args })) },
    ...round.calls.map(
      (call): ChatMessage => ({
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content: call.outcome?.content ?? '',
        isError: call.outcome?.ok !== true,
      }),
    ),
  ];
}
