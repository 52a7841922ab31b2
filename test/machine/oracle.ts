/**
 * An oracle for the model test that does not import the machine: from the design's state table (DESIGN.md, README
 * "States"), the states a step may lead to, written down by hand. It answers for the events whose outcome the design
 * fixes and says nothing (null) where the answer hangs on bookkeeping the invariants check instead. The model test
 * replays paths planned on the machine; this oracle is what keeps that replay from comparing the machine with itself.
 */
import type { EventObject } from 'xstate';

/** What the oracle knows about the step besides the state names: facts the test saw from outside. */
export type OracleFacts = {
  /** The call was placed with answering-machine detection (the `Amd=1` stream parameter). */
  readonly screened: boolean;
  /** This event is the first echo of its mark (the observer's own record of echoes). */
  readonly firstEcho: boolean;
};

type Event = EventObject & { readonly text?: string; readonly speechFinal?: boolean; readonly digit?: string; readonly polite?: boolean };

const live = (state: string) => !['connecting', 'configuring', 'ended'].includes(state);
const phraseStates = ['greeting', 'prompting', 'resuming'];
/** The filler transcripts the model sends (a fillers-only transcript is no real utterance). */
const FILLERS = new Set(['uh-huh']);
/** The model's eager transcript: an end of turn with these words (or none) confirms the speculative reply. */
const EAGER_TEXT = 'book a table';

/** The states `event` may lead to from `before`, or null when the design table does not decide it alone. */
export function expectedAfter(before: string, event: Event, facts: OracleFacts, options: { readonly dtmfTerminator: string }): readonly string[] | null {
  if (before === 'ended') return ['ended'];
  // Twilio hung up, the socket died, or an operator closed the line: the call is over from anywhere.
  if (event.type === 'TRANSPORT.STOP' || event.type === 'xstate.error.actor.transport') return ['ended'];
  if (event.type === 'CALL.HANGUP' && event.polite !== true) return ['ended'];
  // Nothing can be said any more (TTS died): hang up.
  if (event.type === 'xstate.error.actor.tts' && live(before)) return ['ended'];
  // A polite hangup says goodbye first (and one already being said goes on).
  if (event.type === 'CALL.HANGUP' && live(before)) return ['goodbye'];

  switch (before) {
    case 'connecting':
      return event.type === 'TRANSPORT.START' ? ['configuring'] : null;
    case 'configuring':
      if (event.type === 'xstate.done.actor.configure' || event.type === 'xstate.error.actor.configure') {
        return [facts.screened ? 'screening' : 'greeting'];
      }
      return null;
    case 'screening':
      if (event.type === 'CALL.ANSWERED_BY') return [(event as { answeredBy?: string }).answeredBy === 'machine' ? 'voicemail' : 'greeting'];
      if (event.type === 'STT.FINAL') return ['screening']; // an answering machine's words start no turn
      return null;
    case 'voicemail':
      if (event.type === 'TRANSPORT.MARK') return facts.firstEcho ? ['ended'] : ['voicemail'];
      if (event.type.startsWith('xstate.after.phraseTimeout')) return ['ended'];
      if (event.type === 'STT.FINAL' || event.type === 'TRANSPORT.DTMF') return ['voicemail'];
      return null;
    case 'goodbye':
      if (event.type === 'TRANSPORT.MARK') return facts.firstEcho ? ['ended'] : ['goodbye'];
      if (event.type.startsWith('xstate.after.phraseTimeout')) return ['ended'];
      return null;
    case 'listening':
      if (event.type === 'STT.INTERIM') return ['listening'];
      if (event.type === 'STT.FINAL' && event.speechFinal !== true) return ['listening'];
      if (event.type === 'STT.FINAL') return event.text !== '' ? ['respond.thinking'] : null;
      if (event.type === 'STT.EAGER_END') return ['respond.speculating.thinking'];
      if (event.type === 'TRANSPORT.DTMF') return [event.digit === options.dtmfTerminator ? 'respond.thinking' : 'listening'];
      if (event.type.startsWith('xstate.after.idleTimeout')) return ['respond.thinking', 'prompting', 'goodbye'];
      return null;
    case 'interrupted':
      // Silent now: back to listening, or (a speech with an unheard end, nothing said yet) waiting to see if it was noise.
      if (event.type === 'TTS.CLEARED' || event.type.startsWith('xstate.after.clearTimeout')) return ['listening', 'paused'];
      if (event.type === 'STT.FINAL' && event.speechFinal === true && event.text !== '') return ['respond.thinking'];
      return null;
    case 'paused': {
      // README "False interruptions": real words make it a barge-in; nothing, fillers or silence resume the agent.
      const words = (event.text ?? '').trim() !== '' && !FILLERS.has(event.text ?? '');
      if (event.type === 'STT.FINAL' && words) return [event.speechFinal === true ? 'respond.thinking' : 'listening'];
      if (event.type === 'STT.FINAL') return [event.speechFinal === true ? 'resuming' : 'paused'];
      if (event.type === 'STT.INTERIM' || event.type === 'STT.SPEECH_STARTED' || event.type === 'TRANSPORT.MARK') return ['paused'];
      if (event.type === 'STT.UTTERANCE_END' || event.type.startsWith('xstate.after.falseInterruption')) return ['resuming'];
      if (event.type === 'TRANSPORT.DTMF') return [event.digit === options.dtmfTerminator ? 'respond.thinking' : 'listening'];
      return null;
    }
    case 'respond.thinking':
      if (event.type === 'LLM.TEXT') return [event.text?.trim() === '' ? 'respond.thinking' : 'respond.speaking'];
      if (event.type === 'LLM.ERROR' || event.type.startsWith('xstate.after.llmTimeout')) return ['prompting', 'listening'];
      return null;
    case 'respond.speaking':
      if (event.type === 'LLM.TEXT') return ['respond.speaking'];
      return null;
    // README "Speculative replies": the same words confirm the held reply where it is; anything else discards it.
    case 'respond.speculating.thinking':
    case 'respond.speculating.speaking': {
      const confirmed = before.replace('speculating.', '');
      // Discarded, the turn goes on with every word: another end of turn is answered at once.
      if (event.type === 'STT.FINAL' && event.speechFinal === true) return [event.text === '' || event.text === EAGER_TEXT ? confirmed : 'respond.thinking'];
      if (event.type === 'STT.FINAL' || event.type === 'STT.TURN_RESUMED' || event.type === 'LLM.ERROR') return ['listening'];
      if (event.type === 'TRANSPORT.DTMF') return [event.digit === options.dtmfTerminator ? 'respond.thinking' : 'listening'];
      if (event.type === 'LLM.TEXT') return [event.text?.trim() === '' ? before : 'respond.speculating.speaking'];
      if (event.type.startsWith('xstate.after.llmTimeout') || event.type === 'xstate.error.actor.llm') return ['listening'];
      if (event.type === 'LLM.DONE') return before === 'respond.speculating.thinking' ? ['listening'] : null;
      return null;
    }
    case 'respond.tooling':
      if (event.type === 'xstate.error.actor.tools') return ['prompting'];
      if (event.type === 'TRANSPORT.DTMF') return ['respond.tooling']; // the keys go to the tools
      return null;
    case 'transferring.announcing':
      if (event.type === 'TRANSPORT.MARK') return facts.firstEcho ? ['transferring.dialing'] : ['transferring.announcing'];
      return null;
    case 'transferring.dialing':
      if (event.type === 'xstate.done.actor.transfer') return ['transferring.handedOff'];
      if (event.type === 'xstate.error.actor.transfer') return ['prompting'];
      return null;
    case 'transferring.handedOff':
      return event.type.startsWith('xstate.after.handoffTimeout') ? ['ended'] : null;
  }
  // A fixed phrase is one segment: its echo (or the safety timeout) ends it; a turn that ended meanwhile is answered.
  if (phraseStates.includes(before)) {
    if ((event.type === 'TRANSPORT.MARK' && facts.firstEcho) || event.type.startsWith('xstate.after.phraseTimeout')) {
      return ['listening', 'respond.thinking'];
    }
  }
  return null;
}

/** Every state the design names (README "States"): a plan that misses one leaves part of the machine untested. */
export const DESIGN_STATES = [
  'connecting',
  'configuring',
  'screening',
  'voicemail',
  'greeting',
  'listening',
  'respond.thinking',
  'respond.speaking',
  'respond.tooling',
  'respond.speculating.thinking',
  'respond.speculating.speaking',
  'prompting',
  'interrupted',
  'paused',
  'resuming',
  'transferring.announcing',
  'transferring.dialing',
  'transferring.handedOff',
  'goodbye',
  'ended',
] as const;
