/**
 * The simulated Flux turn model, frame by frame in audio time (no sockets, no clock): the documented state rules of
 * Deepgram Flux (docs/flux/state) and the thresholds' effects.
 */
import { describe, expect, it } from 'vitest';
import { FLUX_DEFAULT_THRESHOLDS, FluxTurnModel, type FluxEmission, type FluxThresholds } from '../../offline/flux-turn-model.js';

const timing = { startOfTurnMs: 100, eagerMs: 150, finalMs: 400, updateIntervalMs: 250 };
const EAGER: FluxThresholds = { ...FLUX_DEFAULT_THRESHOLDS, eagerEotThreshold: 0.5 };

/** Drives a model with a script: `s` = speech ms, `w` = a word completed at the end of the speech before it. */
class Feed {
  readonly out: FluxEmission[] = [];
  at = 0;
  constructor(readonly model: FluxTurnModel) {}

  speech(ms: number, word?: string): this {
    for (let t = 0; t < ms; t += 20) this.frame(true, []);
    // The decoder completes a word when speech stops: on the first silent frame.
    if (word) this.frame(false, [word]);
    return this;
  }

  silence(ms: number): this {
    for (let t = 0; t < ms; t += 20) this.frame(false, []);
    return this;
  }

  private frame(speech: boolean, words: string[]): void {
    const start = this.at;
    this.at += 20;
    const completed = words.map((word) => ({ word, startMs: start - 200, endMs: start }));
    this.out.push(...this.model.onFrame(start, this.at, speech, completed));
  }

  get events(): string[] {
    return this.out.filter((e) => e.event !== 'Update').map((e) => e.event);
  }

  of(event: string): FluxEmission[] {
    return this.out.filter((e) => e.event === event);
  }
}

const transcript = (e: FluxEmission | undefined): string => (e?.words ?? []).map((w) => w.word).join(' ');

describe('simulated Flux turn model', () => {
  it('a turn: StartOfTurn after the onset, Updates, EndOfTurn after finalMs of silence; turn_index then increments', () => {
    const f = new Feed(new FluxTurnModel(timing, FLUX_DEFAULT_THRESHOLDS));
    f.silence(300).speech(300, 'hello').speech(300, 'there').silence(600).speech(300, 'again').silence(600);
    expect(f.events).toEqual(['StartOfTurn', 'EndOfTurn', 'StartOfTurn', 'EndOfTurn']);
    const [first, second] = f.of('EndOfTurn');
    expect(transcript(first)).toBe('hello there');
    expect(first?.trigger).toBe('model');
    expect(first?.turnIndex).toBe(0);
    expect(second?.turnIndex).toBe(1);
    expect(f.of('StartOfTurn')[1]?.turnIndex).toBe(1);
    // EndOfTurn came 400 ms of audio after the last speech frame (speech 300–600, a word frame, 620–920).
    expect(first?.windowEndMs).toBe(1320);
    expect(first?.windowStartMs).toBe(300);
    expect(first?.confidence).toBeGreaterThanOrEqual(0.7);
    // No eager events without eager_eot_threshold.
    expect(f.of('EagerEndOfTurn')).toHaveLength(0);
  });

  it('sends an Update about every updateIntervalMs of audio, in and between turns, never with a state change', () => {
    const f = new Feed(new FluxTurnModel(timing, FLUX_DEFAULT_THRESHOLDS));
    f.silence(1000).speech(600, 'words').silence(1000);
    const times = f.out.map((e) => e.windowEndMs);
    // (At most one 20 ms frame later than the interval.)
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeLessThanOrEqual(260);
    expect(new Set(times).size).toBe(times.length); // one message per point in time
    const between = f.out.filter((e) => e.event === 'Update' && e.windowEndMs <= 1000);
    expect(between.map((e) => e.windowEndMs)).toEqual([260, 520, 780]);
    expect(between.every((e) => e.words.length === 0)).toBe(true);
  });

  it('eager: EagerEndOfTurn after eagerMs, then EndOfTurn with the same transcript', () => {
    const f = new Feed(new FluxTurnModel(timing, EAGER));
    f.speech(400, 'book').speech(300, 'a').speech(300, 'table').silence(600);
    expect(f.events).toEqual(['StartOfTurn', 'EagerEndOfTurn', 'EndOfTurn']);
    const eager = f.of('EagerEndOfTurn')[0];
    expect(transcript(eager)).toBe('book a table');
    expect(transcript(f.of('EndOfTurn')[0])).toBe(transcript(eager));
    expect(eager?.confidence).toBeCloseTo(0.5, 1);
    // Eager at the first frame with ≥ 150 ms of silence (160), the end at 400.
    expect((f.of('EndOfTurn')[0]?.windowEndMs ?? 0) - (eager?.windowEndMs ?? 0)).toBe(240);
  });

  it('eager → TurnResumed → EndOfTurn when the caller goes on after a pause longer than eagerMs', () => {
    const f = new Feed(new FluxTurnModel(timing, EAGER));
    f.speech(400, 'I').speech(300, 'would').silence(260).speech(300, 'like').speech(300, 'tea').silence(600);
    expect(f.events).toEqual(['StartOfTurn', 'EagerEndOfTurn', 'TurnResumed', 'EagerEndOfTurn', 'EndOfTurn']);
    const [firstEager, secondEager] = f.of('EagerEndOfTurn');
    expect(transcript(firstEager)).toBe('I would');
    expect(transcript(secondEager)).toBe('I would like tea');
    expect(transcript(f.of('EndOfTurn')[0])).toBe('I would like tea');
    expect(new Set(f.out.filter((e) => e.windowEndMs < 2000).map((e) => e.turnIndex))).toEqual(new Set([0]));
  });

  it('TurnResumed comes before any transcript change after an eager end (EndOfTurn repeats the eager transcript)', () => {
    const f = new Feed(new FluxTurnModel(timing, EAGER));
    // A short burst (shorter than startOfTurnMs) that still completes a word.
    f.speech(300, 'yes').silence(200).speech(40, 'no').silence(600);
    const seq = f.events;
    expect(seq).toEqual(['StartOfTurn', 'EagerEndOfTurn', 'TurnResumed', 'EagerEndOfTurn', 'EndOfTurn']);
    expect(transcript(f.of('EndOfTurn')[0])).toBe(transcript(f.of('EagerEndOfTurn')[1]));
  });

  it('never sends TurnResumed without an EagerEndOfTurn before it', () => {
    const f = new Feed(new FluxTurnModel(timing, FLUX_DEFAULT_THRESHOLDS));
    f.speech(300, 'one').silence(200).speech(300, 'two').silence(600);
    expect(f.events).toEqual(['StartOfTurn', 'EndOfTurn']);
  });

  it('eot_threshold 1 leaves only eot_timeout_ms to end a turn (trigger timeout); ForceEndTurn ends it at once', () => {
    const f = new Feed(new FluxTurnModel(timing, { eotThreshold: 1, eagerEotThreshold: null, eotTimeoutMs: 1000 }));
    f.speech(300, 'hold').silence(900);
    expect(f.events).toEqual(['StartOfTurn']);
    f.silence(100);
    expect(f.of('EndOfTurn')[0]?.trigger).toBe('timeout');

    const g = new Feed(new FluxTurnModel(timing, { eotThreshold: 1, eagerEotThreshold: null, eotTimeoutMs: 1000 }));
    g.speech(300, 'manual');
    const forced = g.model.forceEndTurn();
    expect(forced.map((e) => [e.event, e.trigger, transcript(e)])).toEqual([['EndOfTurn', 'manual', 'manual']]);
    expect(g.model.currentTurnIndex).toBe(1);
    expect(g.model.forceEndTurn()).toEqual([]);
  });

  it('Configure switches eager events on mid-stream; CloseStream sends an Update and does not end the turn', () => {
    const model = new FluxTurnModel(timing, FLUX_DEFAULT_THRESHOLDS);
    const f = new Feed(model);
    f.speech(300, 'first').silence(600);
    model.configure(EAGER);
    f.speech(300, 'second').silence(600);
    expect(f.events).toEqual(['StartOfTurn', 'EndOfTurn', 'StartOfTurn', 'EagerEndOfTurn', 'EndOfTurn']);
    f.speech(300);
    const last = model.closeStream([{ word: 'tail', startMs: 0, endMs: 1 }]);
    expect(last.map((e) => [e.event, transcript(e)])).toEqual([['Update', 'tail']]);
  });
});
