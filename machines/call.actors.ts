/**
 * The call machine's children as types, with placeholders: the server provides the real ones with
 * `callMachine.provide({ actors })`; these types pin them.
 */
import { fromCallback, fromPromise, type AnyActorLogic, type CallbackActorLogic, type EventObject, type PromiseActorLogic } from 'xstate';
import type { ConfigureInput, TransferInput } from './context.js';
import type { LlmInput, ToolRunInput, TransportCommand, TtsCommand } from './events.js';
import type { CallOptions } from './options.js';

export type SttInput = { readonly language: string | null };
export type TtsInput = { readonly voice: string | null };
export type TransportLogic = CallbackActorLogic<TransportCommand>;
export type SttLogic = CallbackActorLogic<EventObject, SttInput>;
export type TtsLogic = CallbackActorLogic<TtsCommand, TtsInput>;
export type LlmLogic = CallbackActorLogic<EventObject, LlmInput>;
/** Runs the function-tool calls of one round; reports one TOOL.RESULT per call; stopping it aborts them. */
export type ToolsLogic = CallbackActorLogic<EventObject, ToolRunInput>;
/** Resolves to this call's options (the agent's onCallStart overrides applied). */
export type ConfigureLogic = PromiseActorLogic<CallOptions, ConfigureInput>;
/** Hands the call to another number (Twilio REST); resolves once Twilio accepted it. */
export type TransferLogic = PromiseActorLogic<void, TransferInput>;
/**
 * The agent's conversation flow (a machine of its own, so the inspector shows its step beside the call): reports
 * each step it enters with FLOW.STEP. Agents without a flow get one that reports nothing.
 */
export type FlowLogic = AnyActorLogic;
export type CallActors = {
  transport: TransportLogic;
  stt: SttLogic;
  tts: TtsLogic;
  llm: LlmLogic;
  tools: ToolsLogic;
  configure: ConfigureLogic;
  transfer: TransferLogic;
  flow: FlowLogic;
};

export const placeholderActors: CallActors = {
  transport: fromCallback<TransportCommand>(() => undefined),
  stt: fromCallback<EventObject, SttInput>(() => undefined),
  tts: fromCallback<TtsCommand, TtsInput>(() => undefined),
  llm: fromCallback<EventObject, LlmInput>(() => undefined),
  tools: fromCallback<EventObject, ToolRunInput>(() => undefined),
  configure: fromPromise<CallOptions, ConfigureInput>(async ({ input }) => input.options),
  transfer: fromPromise<void, TransferInput>(async () => {
    throw new Error('no transfer actor provided');
  }),
  flow: fromCallback(() => undefined),
};

