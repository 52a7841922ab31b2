/**
 * XState's action creators typed once for the call machine, so that the per-topic action maps (conversation in
 * `call.setup.ts`, tool rounds in `call.tool-actions.ts`, speculative replies in `call.speculation-actions.ts`) can be
 * written outside `setup()` and spread into its one `actions` map with their types intact; and `applyPlan`, the one
 * way any of them changes what the agent says.
 */
import { assign, emit, enqueueActions } from 'xstate';
import type { AgentSpeech, CallContext } from './context.js';
import type { CallEmitted } from './emitted.js';
import type { CallEvent, TtsCommand } from './events.js';
import { playedOut } from './heard.js';
import type { SpeechPlan } from './reply.js';

/** What a guard or an action of the call machine is given. */
export type CallArgs = { readonly context: CallContext; readonly event: CallEvent };

export const assignCall = assign<CallContext, CallEvent, undefined, CallEvent, never>;
export const emitCall = emit<CallContext, CallEvent, undefined, CallEvent, CallEmitted>;
// Annotated with `typeof` (not inferred): the inferred type names xstate's CollectActionsArg, which xstate does not
// export, and the build's declaration emit (tsconfig.build.json) cannot write it (TS4023).
export const enqueueCall: typeof enqueueActions<CallContext, CallEvent, undefined, CallEvent, never, never, never, never, CallEmitted> = enqueueActions;

export type PlanEnqueue = {
  assign: (values: { speech: SpeechPlan['speech'] }) => void;
  sendTo: (to: 'tts', command: TtsCommand) => void;
  raise: (event: { type: 'SPEECH.PLAYED_OUT' }) => void;
};

/** Store the new speech state, send its TTS commands in order, and raise SPEECH.PLAYED_OUT when this change ended
 * playback (a speech with no segment, a silent reply, was never playing). */
export function applyPlan(plan: SpeechPlan, enqueue: PlanEnqueue, before: AgentSpeech): void {
  enqueue.assign({ speech: plan.speech });
  for (const command of plan.commands) enqueue.sendTo('tts', command);
  if (plan.speech !== before && plan.speech.segments.length > 0 && !playedOut(before) && playedOut(plan.speech)) {
    enqueue.raise({ type: 'SPEECH.PLAYED_OUT' });
  }
}
