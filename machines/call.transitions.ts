/**
 * The call machine's recurring transition pieces (barge-in, caller input while the agent talks, failures, the guards
 * of a tool round), kept apart so that call.machine.ts reads as the state table.
 */
import { and, not, stateIn } from 'xstate';

/** Every barge-in is this one step: silence Twilio and TTS, report. The LLM (or the tools) stop structurally: their
 * invoking state is exited by the same transition. What was heard is kept when `interrupted` is left (see there). */
export const bargeIn = ['clearPlayback', 'clearTts', 'emitBargeIn'] as const;

export const LISTENING = '#call.live.listening';
export const INTERRUPTED = '#call.live.interrupted';
export const PROMPTING = '#call.live.prompting';
export const GOODBYE = '#call.live.goodbye';
export const apology = { type: 'sayPhrase', params: { kind: 'apology' } } as const;
export const reportLlmError = { type: 'reportError', params: { source: 'llm' } } as const;

/** Caller speech, key presses and (Flux) starts of turn while agent audio plays (greeting, fixed phrases, replies). */
export function whileAgentTalks(interruption: 'isInterruption' | 'greetingInterruption') {
  const greeting = interruption === 'greetingInterruption';
  const keyInterrupts = greeting ? 'greetingDtmfInterrupts' : 'dtmfInterrupts';
  const turnStart = greeting ? 'greetingTurnStartInterruption' : 'turnStartInterruption';
  return {
    'TRANSPORT.DTMF': [{ guard: keyInterrupts, target: INTERRUPTED, actions: ['keepDigit', ...bargeIn] }, { actions: 'keepDigit' }],
    'STT.FINAL': [
      { guard: interruption, target: INTERRUPTED, actions: ['keepFinal', ...bargeIn] },
      { guard: 'isBackchannel' }, // "uh-huh" over the agent: heard, not kept
      { actions: 'keepFinal' }, // real words, but not enough to cut the agent off: answered next
    ],
    'STT.INTERIM': { guard: interruption, target: INTERRUPTED, actions: [...bargeIn] },
    'STT.TURN_STARTED': { guard: turnStart, target: INTERRUPTED, actions: [...bargeIn] },
  } as const;
}

/** STT or TTS gave up: report it, and the call ends with `<source>-failed` (after a goodbye). */
export function failed(source: 'stt' | 'tts') {
  return [
    { type: 'reportError', params: { source } },
    { type: 'setEndReason', params: { reason: `${source}-failed` } },
  ] as const;
}

export const fatalUnlessSayingGoodbye = and(['isFatal', not(stateIn('#call.live.goodbye'))]);
/** The caller's words cut a tool round short (when every running tool allows it) or are kept for later. */
export const cancellable = and(['roundCancellable', not('callerSpokeDuringTools')]);
export const interruptsTools = and(['agentAudible', 'isInterruption', cancellable]);
export const interruptsAudioOnly = and(['agentAudible', 'isInterruption', not('callerSpokeDuringTools')]);
export const cancelsTools = and([not('agentAudible'), 'callerResumes', cancellable]);
