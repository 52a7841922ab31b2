/**
 * The call machine's one setup: its children (typed in `call.actors.ts`), delays, and the guards and actions of the
 * conversation (speech, turns, history, the resume after a false interruption), with those of the tool rounds
 * (`call.tool-actions.ts`) and of speculative replies (`call.speculation-actions.ts`) spread in. The states live in
 * `call.machine.ts`; the decisions live in the pure helpers (sentences, reply, heard, barge-in, tool-round, …).
 */
import { assertEvent, assign, emit, enqueueActions, sendTo, setup, type EventObject } from 'xstate';
import { applyPlan, enqueueCall } from './call.action-helpers.js';
import { placeholderActors } from './call.actors.js';
import { speculationActions, speculationGuards } from './call.speculation-actions.js';
import { toolActions, toolGuards } from './call.tool-actions.js';
import { hasRealWords, isBackchannel, isInterruption } from './barge-in.js';
import {
  initialContext,
  newToolsProgress,
  newTurn,
  noCallerInput,
  silentSpeech,
  type CallContext,
  type CallInput,
  type PhraseKind,
} from './context.js';
import { callDelays } from './delays.js';
import type { CallEmitted, ErrorSource } from './emitted.js';
import type { CallEvent } from './events.js';
import { cutText, generatedText, heardText, markSegment, nothingPlaying, playedOut } from './heard.js';
import { appendMessage, appendMessages, turnMessages } from './history.js';
import type { CallOptions } from './options.js';
import { addReplyText, finishReply, finishReplyWithApology, startPhrase, startReply } from './reply.js';
import { newRound } from './tool-round.js';
import { resumable, resumePlan, unheardTexts } from './resume.js';
import { callerUtterance, keypadText, restorePending } from './utterance.js';

const phraseOption = {
  greeting: 'greeting',
  reprompt: 'repromptText',
  apology: 'apologyText',
  goodbye: 'goodbyeText',
  transfer: 'transferText',
  voicemail: 'voicemailText',
} as const satisfies Record<PhraseKind, keyof CallOptions>;

const phraseText = (options: CallOptions, kind: PhraseKind): string => options[phraseOption[kind]];

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
  if (event.type === 'TRANSPORT.DTMF') return keypadText(event.digit);
  return event.type === 'STT.INTERIM' || event.type === 'STT.FINAL' || event.type === 'STT.TURN_STARTED' ? event.text : '';
}

/** A start of turn (Flux) interrupts at once when allowed; once it carries words, they must pass the usual rules. */
function turnStartInterrupts(options: CallOptions, event: CallEvent): boolean {
  if (event.type !== 'STT.TURN_STARTED' || !options.turnStartInterrupts) return false;
  return event.text.trim() === '' || isInterruption(event.text, options);
}

export const callSetup = setup({
  types: {
    context: {} as CallContext,
    events: {} as CallEvent,
    input: {} as CallInput,
    emitted: {} as CallEmitted,
    children: {} as {
      transport: 'transport';
      stt: 'stt';
      tts: 'tts';
      llm: 'llm';
      tools: 'tools';
      configure: 'configure';
      transfer: 'transfer';
      flow: 'flow';
    },
  },
  actors: placeholderActors,
  delays: callDelays,
  guards: {
    /** speech_final ends the turn only if there is something to answer: an empty one (its words came in
     * earlier finals) ends a turn with pending finals, and is ignored with none. */
    isSpeechFinal: ({ context, event }) =>
      event.type === 'STT.FINAL' && event.speechFinal && (event.text.trim() !== '' || context.caller.pending.length > 0),
    hasPending: ({ context }) => context.caller.pending.length > 0,
    /** An end of turn arrived while we could not act on it (greeting, agent talking, interrupted). */
    turnEnded: ({ context }) => context.caller.endOfTurnAt !== null && (context.caller.pending.length > 0 || context.caller.digits !== ''),
    hasDigits: ({ context }) => context.caller.digits !== '',
    /** The key that ends the caller's input at once (`#` by default). */
    isTerminator: ({ context, event }) =>
      event.type === 'TRANSPORT.DTMF' && context.options.dtmfTerminator !== '' && event.digit === context.options.dtmfTerminator,
    dtmfInterrupts: ({ context }) => context.options.dtmfInterrupts,
    turnStartInterruption: ({ context, event }) => turnStartInterrupts(context.options, event),
    greetingTurnStartInterruption: ({ context, event }) =>
      context.options.greetingInterruptible && turnStartInterrupts(context.options, event),
    greetingDtmfInterrupts: ({ context }) => context.options.dtmfInterrupts && context.options.greetingInterruptible,
    /** An outbound call placed with answering-machine detection: wait for Twilio's verdict before greeting. */
    awaitsAmd: ({ context }) => context.call?.customParameters['Amd'] === '1',
    answeredByMachine: ({ event }) => event.type === 'CALL.ANSWERED_BY' && event.answeredBy === 'machine',
    isInterruption: ({ context, event }) => isInterruption(callerText(event), context.options),
    greetingInterruption: ({ context, event }) =>
      context.options.greetingInterruptible && isInterruption(callerText(event), context.options),
    /** Only fillers over agent audio ("uh-huh"): an acknowledgement, not something to answer. */
    isBackchannel: ({ context, event }) => isBackchannel(callerText(event), context.options.fillerWords),
    /** While nothing plays, any real word (not minInterruptWords) means the caller is not done. */
    callerResumes: ({ context, event }) => hasRealWords(callerText(event), context.options.fillerWords),
    hasText: ({ event }) => event.type === 'LLM.TEXT' && event.text.trim() !== '',
    /** Agent audio is playing or about to (something flushed and not echoed, or text not flushed yet). */
    agentAudible: ({ context }) => !nothingPlaying(context.speech),
    /** This turn already said something: a new inference round continues the spoken reply. */
    turnHasSpoken: ({ context }) => context.speech.segments.length > 0,
    canReprompt: ({ context }) => context.turn.reprompts < context.options.maxReprompts,
    hangupRequested: ({ context }) => context.turn.hangupAfterReply,
    transferRequested: ({ context }) => context.turn.transferTo !== null,
    replyWasHeard: ({ context }) => context.speech.kind === 'reply' && context.speech.segments.some((s) => s.heard === true),
    isFatal: ({ event }) => (event.type === 'STT.ERROR' || event.type === 'TTS.ERROR') && !event.recoverable,
    isPoliteHangup: ({ event }) => event.type === 'CALL.HANGUP' && event.polite === true,
    speechFinal: ({ event }) => event.type === 'STT.FINAL' && event.speechFinal,
    /** The cut speech may go on if the barge-in proves to be noise: it was all there, the caller has said nothing
     * to answer yet, and it does not end the call or hand it over (those replies are not repeated). */
    mayResume: ({ context: c }) =>
      c.options.falseInterruptionTimeoutMs > 0 && resumable(c.speech) && c.caller.pending.length === 0 && c.caller.digits === '' && !c.turn.hangupAfterReply && c.turn.transferTo === null,
    ...toolGuards,
    ...speculationGuards,
  },
  actions: {
    rememberStart: assign(({ event }) => {
      assertEvent(event, 'TRANSPORT.START');
      const p = event.customParameters;
      const call = {
        callSid: event.callSid,
        streamSid: event.streamSid,
        from: p['From'] ?? '',
        to: p['To'] ?? '',
        direction: p['Direction'] ?? '',
        customParameters: p,
      };
      return { call };
    }),
    emitStarted: emit(({ context, event }) => {
      assertEvent(event, 'TRANSPORT.START');
      const { callSid, streamSid, from, to, direction, customParameters } = context.call ?? {
        callSid: event.callSid,
        streamSid: event.streamSid,
        from: '',
        to: '',
        direction: '',
        customParameters: event.customParameters,
      };
      return { type: 'call.started' as const, callSid, streamSid, from, to, direction, customParameters, at: event.at };
    }),
    /** The `configure` child's output: this call's options. */
    applyCallOptions: assign((_, params: { options: CallOptions }) => ({ options: params.options })),
    sayPhrase: enqueueActions<CallContext, CallEvent, { kind: PhraseKind }, CallEvent, never, never, never, never, CallEmitted>(({ context, enqueue }, params) => {
      const segment = params.kind === 'greeting' ? 'greeting' : `${params.kind}-${context.phrases}`;
      // A voicemail given with the outbound call (the Voicemail stream parameter) wins over the agent's.
      const perCall = params.kind === 'voicemail' ? context.call?.customParameters['Voicemail'] : undefined;
      const plan = startPhrase(params.kind, perCall ?? phraseText(context.options, params.kind), segment);
      enqueue.assign({
        speech: plan.speech,
        phrases: context.phrases + 1,
        turn: { ...context.turn, reprompts: context.turn.reprompts + (params.kind === 'reprompt' ? 1 : 0) },
      });
      for (const command of plan.commands) enqueue.sendTo('tts', command);
    }),
    keepFinal: assign(({ context, event }) => {
      assertEvent(event, 'STT.FINAL');
      const pending = event.text.trim() === '' ? context.caller.pending : [...context.caller.pending, event.text];
      // An empty speech_final with nothing pending ends no turn: the words that follow start a new one.
      const endsTurn = event.speechFinal && pending.length > 0;
      return { caller: { ...context.caller, pending, lastFinalAt: event.at, endOfTurnAt: endsTurn ? event.at : context.caller.endOfTurnAt } };
    }),
    keepDigit: assign(({ context, event }) => {
      assertEvent(event, 'TRANSPORT.DTMF');
      const ends = context.options.dtmfTerminator !== '' && event.digit === context.options.dtmfTerminator;
      const { caller } = context;
      return { caller: { ...caller, digits: caller.digits + event.digit, lastFinalAt: event.at, endOfTurnAt: ends ? event.at : caller.endOfTurnAt } };
    }),
    /** Key presses while tools run go to them (a tool may be waiting for the caller to type a number). */
    forwardDigitToTools: sendTo('tools', ({ event }) => event),
    emitSttConnected: emit(({ event }) => {
      assertEvent(event, 'STT.CONNECTED');
      return { type: 'call.sttConnected' as const, resentBytes: event.resentBytes, at: event.at };
    }),
    emitAnsweredBy: emit(({ event }) => {
      assertEvent(event, 'CALL.ANSWERED_BY');
      return { type: 'call.answeredBy' as const, answeredBy: event.answeredBy, at: event.at };
    }),
    markEndOfTurn: assign(({ context, event }) => {
      assertEvent(event, 'STT.UTTERANCE_END');
      return { caller: { ...context.caller, endOfTurnAt: event.at } };
    }),
    /** The caller's input becomes the new turn's utterance; the turn, the reply and the tool loop start afresh. A turn
     * started on an eager end of turn keeps the speculation `startSpeculation` just recorded. */
    startTurn: assign(({ context: { caller, turn } }) => ({
      turn: newTurn(turn.number + 1, callerUtterance(caller.pending, caller.digits), caller.endOfTurnAt ?? caller.lastFinalAt, turn.speculation),
      caller: { ...noCallerInput, lastFinalAt: caller.lastFinalAt },
      speech: startReply(),
      tools: newToolsProgress(),
    })),
    /** A speculative turn is reported once it is confirmed (see confirmSpeculation). */
    emitUserUtterance: enqueueCall(({ context, enqueue }) => {
      if (context.turn.speculation !== null) return;
      enqueue.emit({ type: 'call.userUtterance', turn: context.turn.number, text: context.turn.userText, at: context.turn.timestamps.userSpeechEndAt });
    }),
    /** Before startTurn moves them into the utterance: the keys of this turn, for records and logs. */
    emitDtmf: enqueueCall(({ context, enqueue }) => {
      if (context.caller.digits === '') return;
      enqueue.emit({ type: 'call.dtmf', turn: context.turn.number + 1, digits: context.caller.digits, at: context.caller.endOfTurnAt ?? context.caller.lastFinalAt ?? 0 });
    }),
    /**
     * The caller went on talking before they heard anything of this turn: if nothing of it happened (no completed
     * tool round), their utterance goes back in front of what they said since; otherwise the turn is kept.
     */
    abandonTurn: enqueueCall(({ context, enqueue }) => {
      if (context.tools.rounds.length === 0 && !context.speech.segments.some((segment) => segment.heard === true)) {
        enqueue.assign({
          caller: { ...context.caller, pending: restorePending(context.turn.userText, context.caller.pending) },
          turn: { ...context.turn, userText: '' },
          speech: silentSpeech,
        });
      } else {
        enqueue.assign({
          history: appendMessages(context.history, turnMessages(context.turn.userText, context.tools.rounds, context.speech)),
          speech: silentSpeech,
        });
      }
    }),
    noteFirstText: assign(({ context, event }) => {
      assertEvent(event, 'LLM.TEXT');
      const { timestamps } = context.turn;
      return { turn: { ...context.turn, timestamps: { ...timestamps, llmFirstTextAt: timestamps.llmFirstTextAt ?? event.at } } };
    }),
    speakReply: enqueueCall(({ context, event, enqueue }) => {
      assertEvent(event, 'LLM.TEXT');
      applyPlan(addReplyText(context.speech, event.text, context.turn.number, context.tools.round.firstSegment), enqueue, context.speech);
      const { round } = context.tools;
      enqueue.assign({ tools: { ...context.tools, round: { ...round, text: round.text + event.text } } });
    }),
    finishReply: enqueueCall(({ context, enqueue }) => applyPlan(finishReply(context.speech, context.turn.number), enqueue, context.speech)),
    /** A tool round ends: flush what the model said before its calls; more of the reply follows. */
    endRoundSpeech: enqueueCall(({ context, enqueue }) =>
      applyPlan(finishReply(context.speech, context.turn.number, false), enqueue, context.speech),
    ),
    apologizeAfterReply: enqueueCall(({ context, enqueue }) =>
      applyPlan(finishReplyWithApology(context.speech, context.turn.number, context.options.apologyText), enqueue, context.speech),
    ),
    /** A mark echo; the last one of a finished speech raises SPEECH.PLAYED_OUT. */
    noteMark: enqueueCall(({ context, event, enqueue }) => {
      assertEvent(event, 'TRANSPORT.MARK');
      applyPlan({ speech: markSegment(context.speech, event.name, event.played), commands: [] }, enqueue, context.speech);
    }),
    noteTtsFirstAudio: assign(({ context, event }) => {
      assertEvent(event, 'TTS.FIRST_AUDIO');
      const { timestamps } = context.turn;
      return { turn: { ...context.turn, timestamps: { ...timestamps, ttsFirstAudioAt: timestamps.ttsFirstAudioAt ?? event.at } } };
    }),
    noteAudioStarted: assign(({ context, event }) => {
      assertEvent(event, 'TRANSPORT.AUDIO_STARTED');
      const firstAudioToTwilioAt = context.turn.timestamps.firstAudioToTwilioAt ?? event.at;
      return { turn: { ...context.turn, timestamps: { ...context.turn.timestamps, firstAudioToTwilioAt } } };
    }),
    /**
     * History gets only what the caller heard. A reply commits its whole turn (the utterance, completed tool rounds,
     * the heard text) and reports it; a fixed phrase commits its text if heard.
     */
    commitSpeech: enqueueCall(({ context, enqueue }) => {
      const { speech } = context;
      if (speech.kind !== 'reply') {
        enqueue.assign({ history: appendMessage(context.history, 'assistant', heardText(speech)), speech: silentSpeech });
        return;
      }
      const assistantText = heardText(speech);
      enqueue.assign({
        history: appendMessages(context.history, turnMessages(context.turn.userText, context.tools.rounds, speech)),
        speech: silentSpeech,
      });
      enqueue.emit({
        type: 'call.turn',
        turn: context.turn.number,
        userText: context.turn.userText,
        assistantText,
        generatedText: generatedText(speech),
        // Cut segments echo too (played:false): played out is not enough to say the caller heard it all.
        interrupted: !playedOut(speech) || speech.segments.some((segment) => segment.heard === false),
        timestamps: context.turn.timestamps,
      });
    }),
    /** Leaving `interrupted`: what the caller did not hear, for a resume (see `paused`). */
    keepUnheard: assign(({ context }) => ({ unheard: resumable(context.speech) ? unheardTexts(context.speech) : [] })),
    /** The barge-in was noise: say again what it cut off, from the start of the sentence it was cut in. */
    resumeSpeech: enqueueCall(({ context, enqueue }) => {
      applyPlan(resumePlan(context.unheard, `resumed-${context.phrases}`), enqueue, context.speech);
      enqueue.assign({ unheard: [], phrases: context.phrases + 1 });
    }),
    clearPlayback: sendTo('transport', { type: 'TRANSPORT.CLEAR' }),
    /** Stop agent audio that is playing (Twilio clear + TTS Clear); nothing when the line is quiet. */
    silenceAgent: enqueueCall(({ context, enqueue }) => {
      if (nothingPlaying(context.speech)) return;
      enqueue.sendTo('transport', { type: 'TRANSPORT.CLEAR' });
      enqueue.sendTo('tts', { type: 'TTS.CLEAR' });
    }),
    clearTts: sendTo('tts', { type: 'TTS.CLEAR' }),
    hangUp: sendTo('transport', { type: 'TRANSPORT.HANGUP' }),
    emitBargeIn: emit(({ context, event }) => {
      assertEvent(event, ['STT.INTERIM', 'STT.FINAL', 'TRANSPORT.DTMF', 'STT.TURN_STARTED']);
      return {
        type: 'call.bargeIn' as const,
        turn: context.turn.number,
        during: context.speech.kind,
        callerText: callerText(event),
        heard: heardText(context.speech),
        cut: cutText(context.speech),
        at: event.at,
      };
    }),
    reportError: emit(({ event }, params: { source: ErrorSource }) => errorReport(params.source, event)),
    reportLlmTimeout: emit(({ context }) => ({
      type: 'call.error' as const,
      source: 'llm' as const,
      message: `no LLM text within ${context.options.llmTimeoutMs} ms`,
      recoverable: false,
    })),
    setEndReason: assign((_, params: { reason: string }) => ({ endReason: params.reason })),
    /** Twilio ended the stream; a reason we already had (transferred, end_call, …) says more. */
    noteStopReason: assign(({ context, event }) => {
      assertEvent(event, 'TRANSPORT.STOP');
      return { endReason: context.endReason ?? `transport-${event.reason}` };
    }),
    noteHangupReason: assign(({ event }) => {
      assertEvent(event, 'CALL.HANGUP');
      return { endReason: `hangup: ${event.reason}` };
    }),
    emitEnded: emit(({ context }) => ({ type: 'call.ended' as const, reason: context.endReason ?? 'goodbye' })),
    ...toolActions,
    ...speculationActions,
  },
});

export { initialContext };
export type { CallActors, ConfigureLogic, FlowLogic, LlmLogic, SttInput, SttLogic, ToolsLogic, TransferLogic, TransportLogic, TtsInput, TtsLogic } from './call.actors.js';
