/**
 * Speculative replies (a turn-taking STT such as Deepgram Flux): on an eager end of turn the reply starts with the
 * transport holding its audio back; the confirming end of turn releases it at once; a resumed turn (or a different
 * transcript) discards it unheard — nothing of it is played, kept in history or reported as a turn.
 */
import { assertEvent } from 'xstate';
import { spokenWords } from './barge-in.js';
import { enqueueCall, type CallArgs } from './call.action-helpers.js';
import { silentSpeech } from './context.js';
import { newRound } from './tool-round.js';

const at = (event: { type: string }): number => ('at' in event && typeof event.at === 'number' ? event.at : 0);

export const speculationGuards = {
    /** The end of turn repeats the eager transcript (Flux does; an empty one adds nothing to it). */
    confirmsEager: ({ context, event }: CallArgs) =>
      event.type === 'STT.FINAL' &&
      event.speechFinal &&
      (event.text.trim() === '' || spokenWords(event.text).join(' ') === spokenWords(context.userText).join(' ')),
    hasEagerText: ({ event }: CallArgs) => event.type === 'STT.EAGER_END' && event.text.trim() !== '',
};

export const speculationActions = {
    /** EagerEndOfTurn: its transcript is the turn's; the reply's audio is held until the turn is confirmed. */
    startSpeculation: enqueueCall(({ context, event, enqueue }) => {
      assertEvent(event, 'STT.EAGER_END');
      enqueue.assign({
        speculation: { pendingBefore: context.pending },
        pending: [...context.pending, event.text],
        endOfTurnAt: event.at,
      });
      enqueue.sendTo('transport', { type: 'TRANSPORT.HOLD' });
    }),
    /** The end of turn confirmed the transcript: the held audio goes to the caller at once. */
    confirmSpeculation: enqueueCall(({ context, event, enqueue }) => {
      enqueue.assign({ speculation: null });
      enqueue.sendTo('transport', { type: 'TRANSPORT.RELEASE' });
      enqueue.emit({ type: 'call.speculation', turn: context.turn, outcome: 'confirmed', at: at(event) });
      enqueue.emit({ type: 'call.userUtterance', turn: context.turn, text: context.userText, at: context.timestamps.userSpeechEndAt });
    }),
    /**
     * A reply still speculative is given up (resumed turn, another transcript, an error, a goodbye): its held audio and
     * TTS queue are dropped, nothing of it is kept, and what the caller said before it is pending again. Every
     * transition that leaves `speculating` for a live state other than the confirmed reply runs it; one that ends the
     * call does not need it.
     */
    discardSpeculation: enqueueCall(({ context, event, enqueue }) => {
      if (context.speculation === null) return; // not reached: `speculating` always has one
      enqueue.sendTo('transport', { type: 'TRANSPORT.CLEAR' });
      enqueue.sendTo('tts', { type: 'TTS.CLEAR' });
      enqueue.assign({
        pending: context.speculation.pendingBefore,
        userText: '',
        speech: silentSpeech,
        round: newRound(1, 0),
        rounds: [],
        hangupAfterReply: false,
        transferTo: null,
        speculation: null,
      });
      enqueue.emit({ type: 'call.speculation', turn: context.turn, outcome: 'discarded', at: at(event) });
    }),
};
