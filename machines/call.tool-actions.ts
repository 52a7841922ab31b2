/**
 * The tool loop's guards and actions, spread into the call setup: collect the model's tool calls, report them, record
 * the tool runner's results, complete or cancel a round, and say a filler while a slow tool runs.
 */
import { assertEvent } from 'xstate';
import { applyPlan, assignCall, emitCall, enqueueCall, type CallArgs } from './call.action-helpers.js';
import type { CallContext } from './context.js';
import type { ToolFinishedEmitted } from './emitted.js';
import { enterStep, stepOptions } from './flow-step.js';
import { sayWithinReply } from './reply.js';
import {
  addToolCall,
  allResultsIn,
  fillerText,
  hangupRequested,
  needsToolRound,
  newRound,
  recordToolResult,
  roundCancellable,
  runningCalls,
  transferTarget,
  type RoundCall,
} from './tool-round.js';

function finished(turn: number, round: number, call: RoundCall, outcome: ToolFinishedEmitted['outcome'], at: number): ToolFinishedEmitted {
  return {
    type: 'call.toolFinished',
    turn,
    round,
    id: call.id,
    name: call.name,
    args: call.args,
    outcome,
    content: outcome === 'cancelled' ? '' : (call.outcome?.content ?? ''),
    ...(call.transferNumber === undefined ? {} : { transferNumber: call.transferNumber }),
    startedAt: call.outcome?.startedAt ?? at,
    at: call.outcome?.at ?? at,
  };
}

/** Segments of the reply said since the earlier rounds of this turn. */
function newSegments(context: CallContext): string[] {
  const earlier = new Set(context.tools.rounds.flatMap((round) => round.segments));
  return context.speech.segments.map((segment) => segment.name).filter((name) => !earlier.has(name));
}

export const toolGuards = {
  needsToolRound: ({ context }: CallArgs) => needsToolRound(context.tools.round),
  toolRoundOverLimit: ({ context }: CallArgs) => needsToolRound(context.tools.round) && context.tools.round.index >= context.options.maxToolRounds,
  toolResultsIn: ({ context }: CallArgs) => allResultsIn(context.tools.round),
  roundCancellable: ({ context }: CallArgs) => roundCancellable(context.tools.round),
  callerSpokeDuringTools: ({ context }: CallArgs) => context.tools.callerSpokeDuringTools,
  fillerDue: ({ context }: CallArgs) => context.tools.fillerDue,
  /** The running tools want a filler said (a tool waiting for key presses does not). */
  fillerWanted: ({ context }: CallArgs) => fillerText(context.tools.round, context.options) !== '',
};

export const toolActions = {
  /** LLM.TOOL_CALL: a control tool or a refused call is answered at once; end_call/transfer_call take effect after the reply. */
  noteToolCall: assignCall(({ context, event }) => {
    assertEvent(event, 'LLM.TOOL_CALL');
    // Only the active flow step's tools may run (a name from an earlier step is an unknown tool now).
    const round = addToolCall(context.tools.round, event, stepOptions(context.options, context.flow));
    const { turn } = context;
    return {
      tools: { ...context.tools, round },
      turn: { ...turn, hangupAfterReply: turn.hangupAfterReply || hangupRequested(round), transferTo: turn.transferTo ?? transferTarget(round) },
    };
  }),
  /** LLM.DONE: every call of the round is reported; those already answered are reported finished too. */
  emitToolCalls: enqueueCall(({ context, event, enqueue }) => {
    assertEvent(event, 'LLM.DONE');
    const turn = context.turn.number;
    const { round } = context.tools;
    for (const call of round.calls) {
      const { id, name, args } = call;
      enqueue.emit({ type: 'call.toolStarted', turn, round: round.index, id, name, args, at: event.at });
      if (call.outcome !== null) enqueue.emit(finished(turn, round.index, call, call.outcome.ok ? 'ok' : 'error', event.at));
    }
  }),
  noteToolResult: enqueueCall(({ context, event, enqueue }) => {
    assertEvent(event, 'TOOL.RESULT');
    const round = recordToolResult(context.tools.round, event);
    if (round === context.tools.round) return;
    enqueue.assign({ tools: { ...context.tools, round } });
    const call = round.calls.find((c) => c.id === event.id);
    if (call) enqueue.emit(finished(context.turn.number, round.index, call, event.ok ? 'ok' : 'error', event.at));
  }),
  /** Every result is in: the round (with the segments said during it) joins the turn; a new round starts. */
  completeRound: assignCall(({ context }) => ({
    tools: {
      ...context.tools,
      rounds: [...context.tools.rounds, { ...context.tools.round, segments: newSegments(context) }],
      round: newRound(context.tools.round.index + 1, context.speech.segments.length),
      fillerDue: false,
    },
  })),
  /**
   * The caller cut the round short: running tools are reported cancelled and their calls dropped (the model never
   * sees them); calls that had already finished are facts and stay, as a round of their own.
   */
  cancelRound: enqueueCall(({ context, event, enqueue }) => {
    const at = 'at' in event && typeof event.at === 'number' ? event.at : 0;
    const running = runningCalls(context.tools.round);
    for (const call of running) enqueue.emit(finished(context.turn.number, context.tools.round.index, call, 'cancelled', at));
    const done = context.tools.round.calls.filter((call) => call.outcome !== null);
    const rounds = done.length > 0 ? [...context.tools.rounds, { ...context.tools.round, calls: done, segments: newSegments(context) }] : context.tools.rounds;
    enqueue.assign({
      tools: { ...context.tools, rounds, round: newRound(context.tools.round.index + 1, context.speech.segments.length), fillerDue: false },
    });
  }),
  sayFiller: enqueueCall(({ context, enqueue }) => {
    const segment = `t${context.turn.number}-filler${context.tools.round.index}`;
    applyPlan(sayWithinReply(context.speech, fillerText(context.tools.round, context.options), segment), enqueue, context.speech);
    enqueue.assign({ tools: { ...context.tools, fillerDue: false } });
  }),
  /**
   * The flow entered a step: its instructions and tools apply from the next inference round. Entered during a reply
   * (a tool moved the flow), its phrase is said at once and its transfer happens once the reply has played.
   */
  noteFlowStep: enqueueCall(({ context, event, enqueue }) => {
    assertEvent(event, 'FLOW.STEP');
    const entered = enterStep(event, context.history, context.flow);
    enqueue.assign({ flow: entered.flow, history: entered.history });
    const turn = context.turn.number;
    enqueue.emit({ type: 'call.flowStep', step: event.step, from: context.flow?.step ?? null, event: event.cause, turn, at: event.at });
    const inReply = context.speech.kind === 'reply' && !context.speech.complete && context.turn.speculation === null;
    if (!inReply) return;
    if (event.transferTo !== null) {
      const { transferTargets, transferUnavailable } = context.options;
      const to = Object.hasOwn(transferTargets, event.transferTo) ? transferTargets[event.transferTo] : undefined;
      if (to !== undefined && typeof transferUnavailable !== 'string') enqueue.assign({ turn: { ...context.turn, transferTo: to } });
      else {
        const why = to === undefined ? `"${event.transferTo}" is not a transfer target` : transferUnavailable;
        enqueue.emit({ type: 'call.error', source: 'agent', message: `flow step "${event.step}" cannot transfer: ${why}`, recoverable: true });
      }
    }
    if (event.say !== null) {
      const segment = `t${turn}-step${context.tools.round.index}`;
      applyPlan(sayWithinReply(context.speech, event.say, segment), enqueue, context.speech);
    }
  }),
  markFillerDue: assignCall(({ context }) => ({ tools: { ...context.tools, fillerDue: true } })),
  noteCallerSpoke: assignCall(({ context }) => ({ tools: { ...context.tools, callerSpokeDuringTools: true } })),
  reportToolRoundLimit: emitCall(({ context }) => ({
    type: 'call.error' as const,
    source: 'llm' as const,
    message: `the model asked for tools in ${context.tools.round.index} rounds; the limit is ${context.options.maxToolRounds}`,
    recoverable: false,
  })),
};
