/** Flux TurnInfo → call events (pure): the mapping, interim de-duplication, the eager guarantee, settled audio. */
import { describe, expect, it } from 'vitest';
import { FluxTurnTracker, parseTurnInfo, SETTLED_MARGIN_MS, type FluxTurnInfo } from '../../actors/flux-turns.js';
import type { CallEvent } from '../../machines/events.js';

const info = (event: string, transcript = '', audioWindowEnd = 0, turnIndex = 0): FluxTurnInfo => ({ event, transcript, audioWindowEnd, turnIndex });

function run(tracker: FluxTurnTracker, infos: FluxTurnInfo[]): CallEvent[] {
  return infos.flatMap((i, n) => tracker.onTurnInfo(i, n).events);
}

const brief = (events: CallEvent[]): string[] => events.map((e) => ('text' in e ? `${e.type} ${e.text}` : e.type));

describe('Flux turn events → call events', () => {
  it('parses a TurnInfo message and ignores anything else', () => {
    const msg = {
      type: 'TurnInfo',
      request_id: 'r',
      sequence_id: 4,
      event: 'Update',
      turn_index: 2,
      audio_window_start: 0.5,
      audio_window_end: 1.75,
      transcript: ' hello there ',
      words: [],
      end_of_turn_confidence: 0.1,
    };
    expect(parseTurnInfo(msg)).toEqual({ event: 'Update', turnIndex: 2, transcript: 'hello there', audioWindowEnd: 1.75 });
    expect(parseTurnInfo({ type: 'Connected', request_id: 'r', sequence_id: 0 })).toBeNull();
    expect(parseTurnInfo('TurnInfo')).toBeNull();
  });

  it('a turn: TURN_STARTED, one INTERIM per new transcript, FINAL speechFinal with the whole turn', () => {
    const events = run(new FluxTurnTracker(), [
      info('Update'),
      info('StartOfTurn'),
      info('Update', 'I would'),
      info('Update', 'I would'),
      info('Update', 'I would like tea'),
      info('EndOfTurn', 'I would like tea'),
      info('Update'),
    ]);
    expect(brief(events)).toEqual(['STT.TURN_STARTED ', 'STT.INTERIM I would', 'STT.INTERIM I would like tea', 'STT.FINAL I would like tea']);
    expect(events.at(-1)).toMatchObject({ type: 'STT.FINAL', speechFinal: true });
  });

  it('a StartOfTurn that carries words is also an interim (barge-in rules need words)', () => {
    const events = run(new FluxTurnTracker(), [info('StartOfTurn', 'stop'), info('Update', 'stop')]);
    expect(brief(events)).toEqual(['STT.TURN_STARTED stop', 'STT.INTERIM stop']);
  });

  it('eager → resumed → eager → end of turn', () => {
    const events = run(new FluxTurnTracker(), [
      info('StartOfTurn'),
      info('Update', 'I would'),
      info('EagerEndOfTurn', 'I would'),
      info('TurnResumed', 'I would'),
      info('Update', 'I would like tea'),
      info('EagerEndOfTurn', 'I would like tea'),
      info('EndOfTurn', 'I would like tea'),
    ]);
    expect(brief(events)).toEqual([
      'STT.TURN_STARTED ',
      'STT.INTERIM I would',
      'STT.EAGER_END I would',
      'STT.TURN_RESUMED',
      'STT.INTERIM I would like tea',
      'STT.EAGER_END I would like tea',
      'STT.FINAL I would like tea',
    ]);
  });

  it('reports what breaks the documented order instead of passing it on; an eager end is answered even then', () => {
    const odd = new FluxTurnTracker();
    run(odd, [info('StartOfTurn'), info('EagerEndOfTurn', 'hm')]);
    expect(brief(run(odd, [info('StartOfTurn')]))).toEqual(['STT.TURN_RESUMED', 'STT.TURN_STARTED ']);
    const tracker = new FluxTurnTracker();
    expect(tracker.onTurnInfo(info('TurnResumed'), 0)).toEqual({ events: [], unexpected: 'TurnResumed without an EagerEndOfTurn' });
    expect(tracker.onTurnInfo(info('EagerEndOfTurn', ''), 0).unexpected).toMatch(/without a transcript/);
    expect(tracker.onTurnInfo(info('SomethingNew'), 0).unexpected).toMatch(/unknown/);
  });

  it('a connection lost after an eager end resumes the turn once; otherwise it reports nothing', () => {
    const tracker = new FluxTurnTracker();
    run(tracker, [info('StartOfTurn'), info('EagerEndOfTurn', 'book a table')]);
    expect(brief(tracker.connectionLost(9))).toEqual(['STT.TURN_RESUMED']);
    expect(tracker.connectionLost(10)).toEqual([]);
    // The next connection hears the turn again: the same interim is reported again.
    expect(brief(run(tracker, [info('StartOfTurn'), info('Update', 'book')]))).toEqual(['STT.TURN_STARTED ', 'STT.INTERIM book']);
    const ended = new FluxTurnTracker();
    run(ended, [info('StartOfTurn'), info('EagerEndOfTurn', 'x'), info('EndOfTurn', 'x')]);
    expect(ended.connectionLost(1)).toEqual([]);
  });

  it('settles audio up to an EndOfTurn, between turns up to an Update less a margin, never inside a turn; a new connection starts at 0', () => {
    const tracker = new FluxTurnTracker();
    run(tracker, [info('Update', '', 2)]);
    expect(tracker.settledMs).toBe(2000 - SETTLED_MARGIN_MS);
    run(tracker, [info('StartOfTurn', '', 2.25), info('Update', 'words', 3), info('EagerEndOfTurn', 'words', 3.5)]);
    expect(tracker.settledMs).toBe(2000 - SETTLED_MARGIN_MS);
    run(tracker, [info('EndOfTurn', 'words', 4)]);
    expect(tracker.settledMs).toBe(4000);
    // Between turns, an Update never moves it back into the finished turn.
    run(tracker, [info('Update', '', 4.25)]);
    expect(tracker.settledMs).toBe(4000);
    run(tracker, [info('Update', '', 6)]);
    expect(tracker.settledMs).toBe(6000 - SETTLED_MARGIN_MS);
    tracker.connectionLost(0);
    expect(tracker.settledMs).toBe(0);
  });
});
