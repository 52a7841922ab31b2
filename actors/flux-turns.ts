/**
 * Deepgram Flux `TurnInfo` messages → the call's STT events (pure; the Flux actor owns the socket).
 *
 * - `StartOfTurn` → STT.TURN_STARTED, plus STT.INTERIM when it already carries words (the barge-in rules need words).
 * - `Update` → STT.INTERIM, only when the turn's transcript changed (Flux repeats it every ~0.25 s).
 * - `EagerEndOfTurn` → STT.EAGER_END {text}; `TurnResumed` → STT.TURN_RESUMED.
 * - `EndOfTurn` → STT.FINAL {text: the whole turn, speechFinal: true}: with the Nova events' meaning kept, the
 *   machine's utterance is exactly this one final.
 *
 * The guarantee the machine can build speculation on: every STT.EAGER_END is followed by exactly one STT.FINAL or
 * STT.TURN_RESUMED, even when the socket drops in between (`connectionLost` resumes the turn: the next connection
 * hears the turn again from its start and ends it itself).
 *
 * It also says how far the audio of this connection is settled (`settledMs`): Flux never revisits a finished
 * turn, so audio up to an EndOfTurn, and between turns up to an Update less a margin (StartOfTurn comes a little
 * after the onset of speech), need not be replayed after a reconnect.
 */
import type { CallEvent } from '../machines/events.js';
import { isRecord } from './deepgram-messages.js';

export type FluxTurnEvent = 'StartOfTurn' | 'Update' | 'EagerEndOfTurn' | 'TurnResumed' | 'EndOfTurn';

/** The fields of a ListenV2TurnInfo this actor uses. */
export interface FluxTurnInfo {
  event: string;
  turnIndex: number;
  transcript: string;
  /** Seconds of audio on this connection. */
  audioWindowEnd: number;
}

export function parseTurnInfo(msg: unknown): FluxTurnInfo | null {
  if (!isRecord(msg) || msg.type !== 'TurnInfo' || typeof msg.event !== 'string') return null;
  return {
    event: msg.event,
    turnIndex: typeof msg.turn_index === 'number' ? msg.turn_index : -1,
    transcript: typeof msg.transcript === 'string' ? msg.transcript.trim() : '',
    audioWindowEnd: typeof msg.audio_window_end === 'number' ? msg.audio_window_end : 0,
  };
}

/** Between turns, audio kept for replay before the latest Update (a turn may have begun, not yet reported). */
export const SETTLED_MARGIN_MS = 1000;

export class FluxTurnTracker {
  private inTurn = false;
  private eagerPending = false;
  private lastInterim = '';
  private settled = 0;

  /** Audio ms of this connection that no future turn can need. */
  get settledMs(): number {
    return this.settled;
  }

  /** Events for one TurnInfo (`unexpected` = a message that breaks Flux's documented order; nothing is reported). */
  onTurnInfo(info: FluxTurnInfo, at: number): { events: CallEvent[]; unexpected?: string } {
    const text = info.transcript;
    const events: CallEvent[] = [];
    switch (info.event) {
      case 'StartOfTurn':
        // (Never after an eager end without its EndOfTurn; should it happen, the eager end is still answered.)
        if (this.eagerPending) events.push({ type: 'STT.TURN_RESUMED', at });
        this.inTurn = true;
        this.eagerPending = false;
        this.lastInterim = '';
        events.push({ type: 'STT.TURN_STARTED', text, at });
        this.interim(text, at, events);
        break;
      case 'Update':
        if (this.inTurn) this.interim(text, at, events);
        else this.settle(info.audioWindowEnd * 1000 - SETTLED_MARGIN_MS);
        break;
      case 'EagerEndOfTurn':
        if (text === '') return { events, unexpected: 'EagerEndOfTurn without a transcript' };
        this.eagerPending = true;
        events.push({ type: 'STT.EAGER_END', text, at });
        break;
      case 'TurnResumed':
        if (!this.eagerPending) return { events, unexpected: 'TurnResumed without an EagerEndOfTurn' };
        this.eagerPending = false;
        events.push({ type: 'STT.TURN_RESUMED', at });
        break;
      case 'EndOfTurn':
        this.inTurn = false;
        this.eagerPending = false;
        this.lastInterim = '';
        // Everything up to here is the finished turn and the silence that ended it.
        this.settle(info.audioWindowEnd * 1000);
        // An empty EndOfTurn (noise) still ends the turn, as an empty speech_final does.
        events.push({ type: 'STT.FINAL', text, speechFinal: true, at });
        break;
      default:
        return { events, unexpected: `unknown TurnInfo event ${info.event}` };
    }
    return { events };
  }

  /** The connection is gone: resume a turn left eagerly ended (the next connection re-hears it); start afresh. */
  connectionLost(at: number): CallEvent[] {
    const events: CallEvent[] = this.eagerPending ? [{ type: 'STT.TURN_RESUMED', at }] : [];
    this.inTurn = false;
    this.eagerPending = false;
    this.lastInterim = '';
    this.settled = 0;
    return events;
  }

  private interim(text: string, at: number, events: CallEvent[]): void {
    if (text === '' || text === this.lastInterim) return;
    this.lastInterim = text;
    events.push({ type: 'STT.INTERIM', text, at });
  }

  private settle(ms: number): void {
    this.settled = Math.max(this.settled, ms);
  }
}
