/**
 * Speculative replies (a turn-taking STT such as Deepgram Flux): on an eager end of turn the reply starts with the
 * transport holding its audio back; the confirming end of turn releases it at once; a resumed turn (or a different
 * transcript) discards it unheard — nothing of it is played, kept in history or reported as a turn.
 */
import { assertEvent } from 'xstate';
import { spokenWords } from './barge-in.js';
import { enqueueCall, type CallArgs } from './call.action-helpers.js';
import { newToolsProgress, newTurn, silentSpeech } from './context.js';

const at = (event: { type: string }): number => ('at' in event && typeof event.at === 'number' ? event.at : 0);

export const speculationGuards = {
  /** The end of turn repeats the eager transcript (Flux does; an empty one adds nothing to it). */
  confirmsEager: ({ context, event }: CallArgs) =>
    event.type === 'STT.FINAL' &&
    event.speechFinal &&
    (event.text.trim() === '' || spokenWords(event.text).join(' ') === spokenWords(context.turn.userText).join(' ')),
  hasEagerText: ({ event }: CallArgs) => event.type === 'STT.EAGER_END' && event.text.trim() !== '',
};

export const speculationActions = {
  /** EagerEndOfTurn: its transcript is the turn's; the reply's audio is held until the turn is confirmed. */
  startSpeculation: enqueueCall(({ context, event, enqueue }) => {
    assertEvent(event, 'STT.EAGER_END');
    enqueue.assign({
      turn: { ...context.turn, speculation: { pendingBefore: context.caller.pending } },
      caller: { ...context.caller, pending: [...context.caller.pending, event.text], endOfTurnAt: event.at },
    });
    enqueue.sendTo('transport', { type: 'TRANSPORT.HOLD' });
  }),
  /** The end of turn confirmed the transcript: the held audio goes to the caller at once. */
  confirmSpeculation: enqueueCall(({ context, event, enqueue }) => {
    enqueue.assign({ turn: { ...context.turn, speculation: null } });
    enqueue.sendTo('transport', { type: 'TRANSPORT.RELEASE' });
    enqueue.emit({ type: 'call.speculation', turn: context.turn.number, outcome: 'confirmed', at: at(event) });
    enqueue.emit({ type: 'call.userUtterance', turn: context.turn.number, text: context.turn.userText, at: context.turn.timestamps.userSpeechEndAt });
  }),
  /**
   * A reply still speculative is given up (resumed turn, another transcript, an error, a goodbye): its held audio and
   * TTS queue are dropped, nothing of it is kept, and what the caller said before it is pending again. Every
   * transition that leaves `speculating` for a live state other than the confirmed reply runs it; one that ends the
   * call does not need it.
   */
  discardSpeculation: enqueueCall(({ context, event, enqueue }) => {
    if (context.turn.speculation === null) return; // not reached: `speculating` always has one
    enqueue.sendTo('transport', { type: 'TRANSPORT.CLEAR' });
    enqueue.sendTo('tts', { type: 'TTS.CLEAR' });
    // The turn stays counted (its number named the discarded segments); what it decided is forgotten.
    enqueue.assign({
      caller: { ...context.caller, pending: context.turn.speculation.pendingBefore },
      turn: { ...newTurn(context.turn.number, '', context.turn.timestamps.userSpeechEndAt), timestamps: context.turn.timestamps },
      speech: silentSpeech,
      tools: newToolsProgress(),
    });
    enqueue.emit({ type: 'call.speculation', turn: context.turn.number, outcome: 'discarded', at: at(event) });
  }),
};
