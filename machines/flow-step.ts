/**
 * Conversation flows, as the call machine sees them: the `flow` child (the agent's steps compiled to a machine, see
 * src/agent/flow.ts) reports each step it enters with FLOW.STEP, as data — instructions, the names of the tools
 * offered, the history strategy, a phrase to say, a transfer target. The call machine never knows step names or
 * transitions: it keeps the latest step and derives the options of the next inference round from it.
 */
import type { ChatMessage, FlowStepEvent, HistoryStrategy } from './events.js';
import type { CallOptions } from './options.js';

export type { FlowStepEvent, HistoryStrategy };

/** The active step, as kept in the call's context. */
export type FlowStep = {
  readonly step: string;
  readonly instructions: string;
  readonly tools: readonly string[];
  /** The conversation before the step, condensed (history strategy `summary`); '' otherwise. */
  readonly summary: string;
};

/** How much of the dropped conversation a `summary` keeps (the most recent part). */
const SUMMARY_MAX_CHARS = 2000;

/**
 * The `summary` history strategy, deterministic (no model call, so a transition costs no extra round trip and cannot
 * fail): the conversation's spoken lines and tool results, most recent last, cut from the front to a bounded size.
 */
export function summarize(history: readonly ChatMessage[], previous: string): string {
  const lines = history.flatMap((message): string[] => {
    if (message.role === 'tool') return [`${message.name} returned ${message.content}`];
    const text = message.content.trim();
    if (text === '') return [];
    return [`${message.role === 'user' ? 'Caller' : 'You'}: ${text}`];
  });
  const all = [previous, ...lines].filter((line) => line !== '').join('\n');
  return all.length > SUMMARY_MAX_CHARS ? `…${all.slice(all.length - SUMMARY_MAX_CHARS)}` : all;
}

/** The machine's record of the step just entered, and the conversation it keeps. */
export function enterStep(
  event: FlowStepEvent,
  history: readonly ChatMessage[],
  current: FlowStep | null,
): { flow: FlowStep; history: readonly ChatMessage[] } {
  const summary = event.history === 'summary' ? summarize(history, current?.summary ?? '') : event.history === 'reset' ? '' : (current?.summary ?? '');
  return {
    flow: { step: event.step, instructions: event.instructions, tools: event.tools, summary },
    history: event.history === 'keep' ? history : [],
  };
}

/**
 * The options of an inference round in the active step: its instructions (and summary) after the agent's prompt,
 * and only its function tools (the control tools stay). Without a flow, the call's options as they are.
 */
export function stepOptions(options: CallOptions, flow: FlowStep | null): CallOptions {
  if (flow === null) return options;
  const summary = flow.summary === '' ? [] : [`Earlier in this call:\n${flow.summary}`];
  return {
    ...options,
    systemPrompt: [options.systemPrompt, ...summary, flow.instructions].join('\n\n'),
    tools: options.tools.filter((tool) => tool.kind !== 'function' || flow.tools.includes(tool.name)),
  };
}
