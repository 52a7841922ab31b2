/**
 * The call machine's setup: its children (typed in `call.actors.ts`), delays and guards, and the actions of the
 * conversation (speech, turns, history, the resume after a false interruption). Tool-round actions extend this in `call.tool-actions.ts`; the states live in
 * `call.machine.ts`; the decisions live in the pure helpers (sentences, reply, heard, barge-in, tool-round, …).
 */
import { assertEvent, assign, emit, enqueueActions, sendTo, setup, type EventObject } from 'xstate';
import { placeholderActors } from './call.actors.js';
import { hasRealWords, isBackchannel, isInterruption } from './barge-in.js';
import {
  emptyTimestamps,
  initialContext,
  silentSpeech,
  type AgentSpeech,
  type CallContext,
  type CallInput,
  type PhraseKind,
} from './context.js';
import { callDelays } from './delays.js';
import type { CallEmitted, ErrorSource } from './emitted.js';
import type { CallEvent, TtsCommand } from './events.js';
import { cutText, generatedText, heardText, markSegment, nothingPlaying, playedOut } from './heard.js';
import { appendMessage, appendMessages, turnMessages } from './history.js';
import type { CallOptions } from './options.js';
import { addReplyText, finishReply, finishReplyWithApology, startPhrase, startReply, type SpeechPlan } from './reply.js';
import { allResultsIn, fillerText, needsToolRound, newRound, roundCancellable } from './tool-round.js';
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
      event.type === 'STT.FINAL' && event.speechFinal && (event.text.trim() !== '' || context.pending.length > 0),
    hasPending: ({ context }) => context.pending.length > 0,
    /** An end of turn arrived while we could not act on it (greeting, agent talking, interrupted). */
    turnEnded: ({ context }) => context.endOfTurnAt !== null && (context.pending.length > 0 || context.digits !== ''),
    hasDigits: ({ context }) => context.digits !== '',
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
    canReprompt: ({ context }) => context.reprompts < context.options.maxReprompts,
    hangupRequested: ({ context }) => context.hangupAfterReply,
    transferRequested: ({ context }) => context.transferTo !== null,
    replyWasHeard: ({ context }) => context.speech.kind === 'reply' && context.speech.segments.some((s) => s.heard === true),
    isFatal: ({ event }) => (event.type === 'STT.ERROR' || event.type === 'TTS.ERROR') && !event.recoverable,
    isPoliteHangup: ({ event }) => event.type === 'CALL.HANGUP' && event.polite === true,
    speechFinal: ({ event }) => event.type === 'STT.FINAL' && event.speechFinal,
    /** The cut speech may go on if the barge-in proves to be noise: it was all there, the caller has said nothing
     * to answer yet, and it does not end the call or hand it over (those replies are not repeated). */
    mayResume: ({ context: c }) =>
      c.options.falseInterruptionTimeoutMs > 0 && resumable(c.speech) && c.pending.length === 0 && c.digits === '' && !c.hangupAfterReply && c.transferTo === null,
    // ── tool rounds ──
    needsToolRound: ({ context }) => needsToolRound(context.round),
    toolRoundOverLimit: ({ context }) =>
      needsToolRound(context.round) && context.round.index >= context.options.maxToolRounds,
    toolResultsIn: ({ context }) => allResultsIn(context.round),
    roundCancellable: ({ context }) => roundCancellable(context.round),
    callerSpokeDuringTools: ({ context }) => context.callerSpokeDuringTools,
    fillerDue: ({ context }) => context.fillerDue,
    /** The running tools want a filler said (a tool waiting for key presses does not). */
    fillerWanted: ({ context }) => fillerText(context.round, context.options) !== '',
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
    sayPhrase: enqueueActions(({ context, enqueue }, params: { kind: PhraseKind }) => {
      const segment = params.kind === 'greeting' ? 'greeting' : `${params.kind}-${context.phrases}`;
      // A voicemail given with the outbound call (the Voicemail stream parameter) wins over the agent's.
      const perCall = params.kind === 'voicemail' ? context.call?.customParameters['Voicemail'] : undefined;
      const plan = startPhrase(params.kind, perCall ?? phraseText(context.options, params.kind), segment);
      enqueue.assign({
        speech: plan.speech,
        phrases: context.phrases + 1,
        reprompts: context.reprompts + (params.kind === 'reprompt' ? 1 : 0),
      });
      for (const command of plan.commands) enqueue.sendTo('tts', command);
    }),
    keepFinal: assign(({ context, event }) => {
      assertEvent(event, 'STT.FINAL');
      const pending = event.text.trim() === '' ? context.pending : [...context.pending, event.text];
      // An empty speech_final with nothing pending ends no turn: the words that follow start a new one.
      const endsTurn = event.speechFinal && pending.length > 0;
      return { pending, lastFinalAt: event.at, endOfTurnAt: endsTurn ? event.at : context.endOfTurnAt };
    }),
    keepDigit: assign(({ context, event }) => {
      assertEvent(event, 'TRANSPORT.DTMF');
      const ends = context.options.dtmfTerminator !== '' && event.digit === context.options.dtmfTerminator;
      return { digits: context.digits + event.digit, lastFinalAt: event.at, endOfTurnAt: ends ? event.at : context.endOfTurnAt };
    }),
    /** Key presses while tools run go to them (a tool may be waiting for the caller to type a number). */
    forwardDigitToTools: sendTo('tools', ({ event }) => event),
    emitAnsweredBy: emit(({ event }) => {
      assertEvent(event, 'CALL.ANSWERED_BY');
      return { type: 'call.answeredBy' as const, answeredBy: event.answeredBy, at: event.at };
    }),
    markEndOfTurn: assign(({ event }) => {
      assertEvent(event, 'STT.UTTERANCE_END');
      return { endOfTurnAt: event.at };
    }),
    startTurn: assign(({ context }) => ({
      turn: context.turn + 1,
      userText: callerUtterance(context.pending, context.digits),
      pending: [],
      digits: '',
      endOfTurnAt: null,
      timestamps: { ...emptyTimestamps, userSpeechEndAt: context.endOfTurnAt ?? context.lastFinalAt },
      speech: startReply(),
      hangupAfterReply: false,
      transferTo: null,
      round: newRound(1, 0),
      rounds: [],
      fillerDue: false,
      callerSpokeDuringTools: false,
      reprompts: 0,
    })),
    /** A speculative turn is reported once it is confirmed (see confirmSpeculation). */
    emitUserUtterance: enqueueActions(({ context, enqueue }) => {
      if (context.speculation !== null) return;
      enqueue.emit({ type: 'call.userUtterance', turn: context.turn, text: context.userText, at: context.timestamps.userSpeechEndAt });
    }),
    /** Before startTurn moves them into the utterance: the keys of this turn, for records and logs. */
    emitDtmf: enqueueActions(({ context, enqueue }) => {
      if (context.digits === '') return;
      enqueue.emit({ type: 'call.dtmf', turn: context.turn + 1, digits: context.digits, at: context.endOfTurnAt ?? context.lastFinalAt ?? 0 });
    }),
    /**
     * The caller went on talking before they heard anything of this turn: if nothing of it happened (no completed
     * tool round), their utterance goes back in front of what they said since; otherwise the turn is kept.
     */
    abandonTurn: enqueueActions(({ context, enqueue }) => {
      if (context.rounds.length === 0 && !context.speech.segments.some((segment) => segment.heard === true)) {
        enqueue.assign({ pending: restorePending(context.userText, context.pending), userText: '', speech: silentSpeech });
      } else {
        enqueue.assign({
          history: appendMessages(context.history, turnMessages(context.userText, context.rounds, context.speech)),
          speech: silentSpeech,
        });
      }
    }),
    noteFirstText: assign(({ context, event }) => {
      assertEvent(event, 'LLM.TEXT');
      return { timestamps: { ...context.timestamps, llmFirstTextAt: context.timestamps.llmFirstTextAt ?? event.at } };
    }),
    speakReply: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'LLM.TEXT');
      applyPlan(addReplyText(context.speech, event.text, context.turn, context.round.firstSegment), enqueue, context.speech);
      enqueue.assign({ round: { ...context.round, text: context.round.text + event.text } });
    }),
    finishReply: enqueueActions(({ context, enqueue }) => applyPlan(finishReply(context.speech, context.turn), enqueue, context.speech)),
    /** A tool round ends: flush what the model said before its calls; more of the reply follows. */
    endRoundSpeech: enqueueActions(({ context, enqueue }) =>
      applyPlan(finishReply(context.speech, context.turn, false), enqueue, context.speech),
    ),
    apologizeAfterReply: enqueueActions(({ context, enqueue }) =>
      applyPlan(finishReplyWithApology(context.speech, context.turn, context.options.apologyText), enqueue, context.speech),
    ),
    /** A mark echo; the last one of a finished speech raises SPEECH.PLAYED_OUT. */
    noteMark: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'TRANSPORT.MARK');
      applyPlan({ speech: markSegment(context.speech, event.name, event.played), commands: [] }, enqueue, context.speech);
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
    /**
     * History gets only what the caller heard. A reply commits its whole turn (the utterance, completed tool rounds,
     * the heard text) and reports it; a fixed phrase commits its text if heard.
     */
    commitSpeech: enqueueActions(({ context, enqueue }) => {
      const { speech } = context;
      // An unconfirmed speculative reply was never heard and is never kept.
      if (context.speculation !== null) {
        enqueue.assign({ speech: silentSpeech });
        return;
      }
      if (speech.kind !== 'reply') {
        enqueue.assign({ history: appendMessage(context.history, 'assistant', heardText(speech)), speech: silentSpeech });
        return;
      }
      const assistantText = heardText(speech);
      enqueue.assign({
        history: appendMessages(context.history, turnMessages(context.userText, context.rounds, speech)),
        speech: silentSpeech,
      });
      enqueue.emit({
        type: 'call.turn',
        turn: context.turn,
        userText: context.userText,
        assistantText,
        generatedText: generatedText(speech),
        // Cut segments echo too (played:false): played out is not enough to say the caller heard it all.
        interrupted: !playedOut(speech) || speech.segments.some((segment) => segment.heard === false),
        timestamps: context.timestamps,
      });
    }),
    /** Leaving `interrupted`: what the caller did not hear, for a resume (see `paused`). */
    keepUnheard: assign(({ context }) => ({ unheard: resumable(context.speech) ? unheardTexts(context.speech) : [] })),
    /** The barge-in was noise: say again what it cut off, from the start of the sentence it was cut in. */
    resumeSpeech: enqueueActions(({ context, enqueue }) => {
      applyPlan(resumePlan(context.unheard, `resumed-${context.phrases}`), enqueue, context.speech);
      enqueue.assign({ unheard: [], phrases: context.phrases + 1 });
    }),
    clearPlayback: sendTo('transport', { type: 'TRANSPORT.CLEAR' }),
    /** Stop agent audio that is playing (Twilio clear + TTS Clear); nothing when the line is quiet. */
    silenceAgent: enqueueActions(({ context, enqueue }) => {
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
        turn: context.turn,
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
  },
});

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

export { initialContext };
export type { CallActors, ConfigureLogic, FlowLogic, LlmLogic, SttInput, SttLogic, ToolsLogic, TransferLogic, TransportLogic, TtsInput, TtsLogic } from './call.actors.js';
