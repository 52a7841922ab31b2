/**
 * Types, placeholder children, actions, guards and delays of the call machine. The states live in
 * `call.machine.ts`; the decisions live in the pure helpers (sentences, reply, heard, barge-in, utterance).
 */
import {
  assertEvent,
  assign,
  emit,
  enqueueActions,
  fromCallback,
  sendTo,
  setup,
  type CallbackActorLogic,
  type EventObject,
} from 'xstate';
import { hasRealWords, isBackchannel, isInterruption } from './barge-in.js';
import {
  emptyTimestamps,
  initialContext,
  silentSpeech,
  type CallContext,
  type CallInput,
  type PhraseKind,
} from './context.js';
import { callDelays } from './delays.js';
import type { CallEmitted, ErrorSource } from './emitted.js';
import type { CallEvent, LlmInput, TransportCommand, TtsCommand } from './events.js';
import { cutText, generatedText, heardText, markSegment, playedOut } from './heard.js';
import { appendMessage } from './history.js';
import type { CallOptions } from './options.js';
import { addReplyText, finishReply, finishReplyWithApology, startPhrase, startReply, type SpeechPlan } from './reply.js';
import { joinFinals, restorePending } from './utterance.js';

// ── Children: the server provides the real ones with `callMachine.provide({ actors })`; these types pin them ──
export type TransportLogic = CallbackActorLogic<TransportCommand>;
export type SttLogic = CallbackActorLogic<EventObject>;
export type TtsLogic = CallbackActorLogic<TtsCommand>;
export type LlmLogic = CallbackActorLogic<EventObject, LlmInput>;
export type CallActors = { transport: TransportLogic; stt: SttLogic; tts: TtsLogic; llm: LlmLogic };

const placeholderActors: CallActors = {
  transport: fromCallback<TransportCommand>(() => undefined),
  stt: fromCallback<EventObject>(() => undefined),
  tts: fromCallback<TtsCommand>(() => undefined),
  llm: fromCallback<EventObject, LlmInput>(() => undefined),
};

export type TransferParams = { to: string };

function phraseText(options: CallOptions, kind: PhraseKind): string {
  switch (kind) {
    case 'greeting':
      return options.greeting;
    case 'reprompt':
      return options.repromptText;
    case 'apology':
      return options.apologyText;
    case 'goodbye':
      return options.goodbyeText;
  }
}

/** Reads `message`/`error`/`recoverable` from a child's error report or an `xstate.error.actor.*` event. */
function errorReport(source: ErrorSource, event: EventObject): CallEmitted {
  const fields: Record<string, unknown> = { ...event };
  const cause = fields['error'];
  const message =
    typeof fields['message'] === 'string'
      ? fields['message']
      : cause instanceof Error
        ? cause.message
        : `${event.type}: ${String(cause)}`;
  return { type: 'call.error', source, message, recoverable: fields['recoverable'] === true };
}

function callerText(event: CallEvent): string {
  return event.type === 'STT.INTERIM' || event.type === 'STT.FINAL' ? event.text : '';
}

export const callSetup = setup({
  types: {
    context: {} as CallContext,
    events: {} as CallEvent,
    input: {} as CallInput,
    emitted: {} as CallEmitted,
    children: {} as { transport: 'transport'; stt: 'stt'; tts: 'tts'; llm: 'llm' },
  },
  actors: placeholderActors,
  delays: callDelays,
  guards: {
    /** speech_final ends the turn only if there is something to answer: an empty one (its words came in
     * earlier finals) ends a turn with pending finals, and is ignored with none. */
    isSpeechFinal: ({ context, event }) =>
      event.type === 'STT.FINAL' && event.speechFinal && (event.text.trim() !== '' || context.pending.length > 0),
    hasPending: ({ context }) => context.pending.length > 0,
    /** An end of turn arrived while we could not act on it (greeting, agent talking, interrupted). */
    turnEnded: ({ context }) => context.endOfTurnAt !== null && context.pending.length > 0,
    isInterruption: ({ context, event }) => isInterruption(callerText(event), context.options),
    greetingInterruption: ({ context, event }) =>
      context.options.greetingInterruptible && isInterruption(callerText(event), context.options),
    /** Only fillers over agent audio ("uh-huh"): an acknowledgement, not something to answer. */
    isBackchannel: ({ context, event }) => isBackchannel(callerText(event), context.options.fillerWords),
    /** While thinking nothing plays, so any real word (not minInterruptWords) means the caller is not done. */
    callerResumes: ({ context, event }) => hasRealWords(callerText(event), context.options.fillerWords),
    hasText: ({ event }) => event.type === 'LLM.TEXT' && event.text.trim() !== '',
    speechPlayedOut: ({ context }) => playedOut(context.speech),
    /** The LLM is still expected to send more of this reply (no LLM.DONE, no apology yet). */
    replyStreaming: ({ context }) => context.speech.kind === 'reply' && !context.speech.complete,
    replyProgressed: ({ context }) => context.replyProgressed,
    canReprompt: ({ context }) => context.reprompts < context.options.maxReprompts,
    hangupRequested: ({ context }) => context.hangupAfterReply,
    replyWasHeard: ({ context }) => context.speech.kind === 'reply' && context.speech.segments.some((s) => s.heard === true),
    isEndCall: ({ event }) => event.type === 'LLM.TOOL_CALL' && event.name === 'end_call',
    isValidTransfer: ({ event }) =>
      event.type === 'LLM.TOOL_CALL' &&
      event.name === 'transfer_call' &&
      typeof event.args['to'] === 'string' &&
      event.args['to'].trim() !== '',
    isFatal: ({ event }) => (event.type === 'STT.ERROR' || event.type === 'TTS.ERROR') && !event.recoverable,
  },
  actions: {
    rememberStart: assign(({ event }) => {
      assertEvent(event, 'TRANSPORT.START');
      return { callSid: event.callSid, streamSid: event.streamSid, customParameters: event.customParameters };
    }),
    emitStarted: emit(({ event }) => {
      assertEvent(event, 'TRANSPORT.START');
      const p = event.customParameters;
      return {
        type: 'call.started' as const,
        callSid: event.callSid,
        streamSid: event.streamSid,
        from: p['From'] ?? '',
        to: p['To'] ?? '',
        direction: p['Direction'] ?? '',
        customParameters: p,
        at: event.at,
      };
    }),
    sayPhrase: enqueueActions(({ context, enqueue }, params: { kind: PhraseKind }) => {
      const segment = params.kind === 'greeting' ? 'greeting' : `${params.kind}-${context.phrases}`;
      const plan = startPhrase(params.kind, phraseText(context.options, params.kind), segment);
      enqueue.assign({
        speech: plan.speech,
        phrases: context.phrases + 1,
        reprompts: context.reprompts + (params.kind === 'reprompt' ? 1 : 0),
      });
      for (const command of plan.commands) enqueue.sendTo('tts', command);
    }),
    keepFinal: assign(({ context, event }) => {
      assertEvent(event, 'STT.FINAL');
      return {
        pending: event.text.trim() === '' ? context.pending : [...context.pending, event.text],
        lastFinalAt: event.at,
        endOfTurnAt: event.speechFinal ? event.at : context.endOfTurnAt,
      };
    }),
    markEndOfTurn: assign(({ event }) => {
      assertEvent(event, 'STT.UTTERANCE_END');
      return { endOfTurnAt: event.at };
    }),
    startTurn: assign(({ context }) => ({
      turn: context.turn + 1,
      userText: joinFinals(context.pending),
      pending: [],
      endOfTurnAt: null,
      timestamps: { ...emptyTimestamps, userSpeechEndAt: context.endOfTurnAt ?? context.lastFinalAt },
      speech: startReply(),
      hangupAfterReply: false,
      reprompts: 0,
    })),
    emitUserUtterance: emit(({ context }) => ({
      type: 'call.userUtterance' as const,
      turn: context.turn,
      text: context.userText,
      at: context.timestamps.userSpeechEndAt,
    })),
    /** The caller went on talking before the reply started: their cancelled turn goes back to pending. */
    resumeListening: assign(({ context }) => ({
      pending: restorePending(context.userText, context.pending),
      userText: '',
      speech: silentSpeech,
    })),
    commitUserText: assign(({ context }) => ({ history: appendMessage(context.history, 'user', context.userText) })),
    noteFirstText: assign(({ context, event }) => {
      assertEvent(event, 'LLM.TEXT');
      return { timestamps: { ...context.timestamps, llmFirstTextAt: event.at } };
    }),
    speakReply: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'LLM.TEXT');
      applyPlan(addReplyText(context.speech, event.text, context.turn), enqueue);
    }),
    armStallTimer: assign({ replyProgressed: false }),
    noteReplyProgress: assign({ replyProgressed: true }),
    finishReply: enqueueActions(({ context, enqueue }) => applyPlan(finishReply(context.speech, context.turn), enqueue)),
    apologizeAfterReply: enqueueActions(({ context, enqueue }) =>
      applyPlan(finishReplyWithApology(context.speech, context.turn, context.options.apologyText), enqueue),
    ),
    noteMark: assign(({ context, event }) => {
      assertEvent(event, 'TRANSPORT.MARK');
      return { speech: markSegment(context.speech, event.name, event.played) };
    }),
    noteTtsFirstAudio: assign(({ context, event }) => {
      assertEvent(event, 'TTS.FIRST_AUDIO');
      return { timestamps: { ...context.timestamps, ttsFirstAudioAt: context.timestamps.ttsFirstAudioAt ?? event.at } };
    }),
    noteAudioStarted: assign(({ context, event }) => {
      assertEvent(event, 'TRANSPORT.AUDIO_STARTED');
      const firstAudioToTwilioAt = context.timestamps.firstAudioToTwilioAt ?? event.at;
      return { timestamps: { ...context.timestamps, firstAudioToTwilioAt } };
    }),
    /** History gets only what the caller heard; a reply also reports its turn. */
    commitSpeech: enqueueActions(({ context, enqueue }) => {
      const assistantText = heardText(context.speech);
      enqueue.assign({ history: appendMessage(context.history, 'assistant', assistantText), speech: silentSpeech });
      if (context.speech.kind !== 'reply') return;
      enqueue.emit({
        type: 'call.turn',
        turn: context.turn,
        userText: context.userText,
        assistantText,
        generatedText: generatedText(context.speech),
        interrupted: !playedOut(context.speech),
        timestamps: context.timestamps,
      });
    }),
    clearPlayback: sendTo('transport', { type: 'TRANSPORT.CLEAR' }),
    clearTts: sendTo('tts', { type: 'TTS.CLEAR' }),
    hangUp: sendTo('transport', { type: 'TRANSPORT.HANGUP' }),
    emitBargeIn: emit(({ context, event }) => {
      assertEvent(event, ['STT.INTERIM', 'STT.FINAL']);
      return {
        type: 'call.bargeIn' as const,
        turn: context.turn,
        during: context.speech.kind,
        callerText: event.text,
        heard: heardText(context.speech),
        cut: cutText(context.speech),
        at: event.at,
      };
    }),
    requestHangupAfterReply: assign({ hangupAfterReply: true }),
    /** Provided by the server (Twilio REST call update); the machine only decides when. */
    transferCall: (_, _params: TransferParams) => undefined,
    reportError: emit(({ event }, params: { source: ErrorSource }) => errorReport(params.source, event)),
    reportLlmStall: emit(({ context }) => ({
      type: 'call.error' as const,
      source: 'llm' as const,
      message: `LLM stream stalled: nothing for ${context.options.llmTimeoutMs} ms mid-reply`,
      recoverable: false,
    })),
    reportLlmTimeout: emit(({ context }) => ({
      type: 'call.error' as const,
      source: 'llm' as const,
      message: `no LLM text within ${context.options.llmTimeoutMs} ms`,
      recoverable: false,
    })),
    reportBadToolCall: emit(({ event }) => {
      assertEvent(event, 'LLM.TOOL_CALL');
      const message = `ignored tool call ${event.name} with arguments ${JSON.stringify(event.args)}`;
      return { type: 'call.error' as const, source: 'llm' as const, message, recoverable: true };
    }),
    setEndReason: assign((_, params: { reason: string }) => ({ endReason: params.reason })),
    noteStopReason: assign(({ event }) => {
      assertEvent(event, 'TRANSPORT.STOP');
      return { endReason: `transport-${event.reason}` };
    }),
    noteHangupReason: assign(({ event }) => {
      assertEvent(event, 'CALL.HANGUP');
      return { endReason: `hangup: ${event.reason}` };
    }),
    emitEnded: emit(({ context }) => ({ type: 'call.ended' as const, reason: context.endReason ?? 'goodbye' })),
  },
});

type PlanEnqueue = {
  assign: (values: { speech: SpeechPlan['speech'] }) => void;
  sendTo: (to: 'tts', command: TtsCommand) => void;
};

/** Store the new speech state, then send its TTS commands in order. */
function applyPlan(plan: SpeechPlan, enqueue: PlanEnqueue): void {
  enqueue.assign({ speech: plan.speech });
  for (const command of plan.commands) enqueue.sendTo('tts', command);
}

export { initialContext };
