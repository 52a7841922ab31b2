/**
 * The turn-taking half of the simulated Deepgram Flux (`/v2/listen`), free of sockets: fed one 20 ms frame at a time
 * (speech or silence, plus the words the speech decoder completed in it), it returns the TurnInfo events Flux would
 * send. Its clock is AUDIO time, like the /v1/listen simulator's.
 *
 * The documented state rules (developers.deepgram.com/docs/flux/state) hold by construction:
 * Initial ─StartOfTurn→ TurnOngoing ─EagerEndOfTurn→ AwaitingEnd ─TurnResumed→ TurnOngoing, AwaitingEnd/TurnOngoing
 * ─EndOfTurn→ Initial; `Update` about every `updateIntervalMs` of audio unless another event was just sent;
 * EagerEndOfTurn only with `eager_eot_threshold` set and a non-empty transcript; TurnResumed only after an eager one
 * (and before any transcript change, so EndOfTurn repeats the eager transcript); `turn_index` increments right
 * after EndOfTurn; `eot_threshold = 1` leaves only `eot_timeout_ms` to end a turn.
 *
 * Where real Flux uses a model's confidence, this one uses delays of silence after the last speech frame
 * (`eagerMs`, `finalMs`) and reports an `end_of_turn_confidence` that reaches the eager threshold at `eagerMs` and
 * the end-of-turn threshold at `finalMs`.
 */

export type FluxEventName = 'StartOfTurn' | 'Update' | 'EagerEndOfTurn' | 'TurnResumed' | 'EndOfTurn';
export type FluxTrigger = 'model' | 'timeout' | 'manual';

export interface FluxWord {
  word: string;
  /** Audio ms on this connection. */
  startMs: number;
  endMs: number;
}

export interface FluxTiming {
  /** Speech audio needed before StartOfTurn (and before TurnResumed after an eager end). */
  startOfTurnMs: number;
  /** Silence after the last speech before EagerEndOfTurn. */
  eagerMs: number;
  /** Silence after the last speech before EndOfTurn (the model's decision). */
  finalMs: number;
  /** Audio between two Update messages. */
  updateIntervalMs: number;
}

export interface FluxThresholds {
  eotThreshold: number;
  /** null = no eager events. */
  eagerEotThreshold: number | null;
  eotTimeoutMs: number;
}

/** Deepgram's defaults (docs/flux/configuration). */
export const FLUX_DEFAULT_THRESHOLDS: FluxThresholds = { eotThreshold: 0.7, eagerEotThreshold: null, eotTimeoutMs: 5000 };

export interface FluxEmission {
  event: FluxEventName;
  turnIndex: number;
  windowStartMs: number;
  windowEndMs: number;
  words: readonly FluxWord[];
  confidence: number;
  /** EndOfTurn only. */
  trigger?: FluxTrigger;
}

type Phase = 'initial' | 'ongoing' | 'awaiting';

/** Confidence while speech is heard. */
const SPEAKING_CONFIDENCE = 0.02;

export class FluxTurnModel {
  private phase: Phase = 'initial';
  private turnIndex = 0;
  private words: FluxWord[] = [];
  /** Words of the EagerEndOfTurn (EndOfTurn after it must repeat exactly these). */
  private eagerWords: FluxWord[] | null = null;
  private turnStartMs = 0;
  private speechRunMs = 0;
  private speechRunStartMs = 0;
  private lastSpeechEndMs = 0;
  private lastEmitMs = 0;
  private audioMs = 0;

  constructor(
    private readonly timing: FluxTiming,
    private thresholds: FluxThresholds,
  ) {}

  get currentTurnIndex(): number {
    return this.turnIndex;
  }

  /** Configure: thresholds apply from the next frame on. */
  configure(thresholds: FluxThresholds): void {
    this.thresholds = thresholds;
    // Eager events switched off while awaiting the end: Flux keeps the pending EndOfTurn rule (same transcript).
  }

  /** One frame of audio [startMs, endMs); `completed` = words whose last character arrived in it. */
  onFrame(startMs: number, endMs: number, speech: boolean, completed: readonly FluxWord[]): FluxEmission[] {
    this.audioMs = endMs;
    const out: FluxEmission[] = [];
    if (completed.length > 0) {
      this.words.push(...completed);
      // Rule: the transcript may not change after EagerEndOfTurn without a TurnResumed first.
      if (this.phase === 'awaiting') this.resume(out);
    }
    if (speech) this.onSpeech(startMs, endMs, out);
    else this.onSilence(out);
    if (out.length === 0 && endMs - this.lastEmitMs >= this.timing.updateIntervalMs) out.push(this.emission('Update'));
    if (out.length > 0) this.lastEmitMs = endMs;
    return out;
  }

  /** ForceEndTurn: ends the turn at once (`trigger: manual`); nothing happens between turns. */
  forceEndTurn(): FluxEmission[] {
    if (this.phase === 'initial') return [];
    const out: FluxEmission[] = [];
    this.endTurn('manual', out);
    this.lastEmitMs = this.audioMs;
    return out;
  }

  /** CloseStream: one last Update for the audio received (with the word being said); the turn is NOT finalised. */
  closeStream(completed: readonly FluxWord[]): FluxEmission[] {
    this.words.push(...completed);
    return [this.emission('Update')];
  }

  private onSpeech(startMs: number, endMs: number, out: FluxEmission[]): void {
    if (this.speechRunMs === 0) this.speechRunStartMs = startMs;
    this.speechRunMs += endMs - startMs;
    this.lastSpeechEndMs = endMs;
    if (this.speechRunMs < this.timing.startOfTurnMs) return;
    if (this.phase === 'initial') {
      this.phase = 'ongoing';
      this.turnStartMs = this.speechRunStartMs;
      out.push(this.emission('StartOfTurn'));
    } else if (this.phase === 'awaiting') {
      this.resume(out);
    }
  }

  private onSilence(out: FluxEmission[]): void {
    this.speechRunMs = 0;
    if (this.phase === 'initial') return;
    const silenceMs = this.audioMs - this.lastSpeechEndMs;
    const end = this.endOfTurnAfter();
    if (silenceMs >= end.ms) return this.endTurn(end.trigger, out);
    const eager = this.thresholds.eagerEotThreshold;
    if (this.phase === 'ongoing' && eager !== null && this.words.length > 0 && silenceMs >= this.timing.eagerMs) {
      this.phase = 'awaiting';
      this.eagerWords = [...this.words];
      out.push(this.emission('EagerEndOfTurn'));
    }
  }

  private resume(out: FluxEmission[]): void {
    this.phase = 'ongoing';
    this.eagerWords = null;
    out.push(this.emission('TurnResumed'));
  }

  private endTurn(trigger: FluxTrigger, out: FluxEmission[]): void {
    const words = this.eagerWords ?? this.words;
    out.push({ ...this.emission('EndOfTurn', words), trigger });
    this.phase = 'initial';
    this.turnIndex++;
    // Words completed after the eager end belong to no turn any more (a TurnResumed would have come first).
    this.words = [];
    this.eagerWords = null;
    this.turnStartMs = this.audioMs;
  }

  /** When silence ends the turn: the model at `finalMs` (unless eot_threshold is 1), else eot_timeout_ms. */
  private endOfTurnAfter(): { ms: number; trigger: FluxTrigger } {
    const timeout = this.thresholds.eotTimeoutMs;
    if (this.thresholds.eotThreshold >= 1 || this.timing.finalMs >= timeout) return { ms: timeout, trigger: 'timeout' };
    return { ms: this.timing.finalMs, trigger: 'model' };
  }

  private emission(event: FluxEventName, words: readonly FluxWord[] = this.words): FluxEmission {
    const inTurn = this.phase !== 'initial' || event === 'EndOfTurn';
    return {
      event,
      turnIndex: this.turnIndex,
      windowStartMs: inTurn ? this.turnStartMs : Math.max(this.turnStartMs, this.audioMs - this.timing.updateIntervalMs),
      windowEndMs: this.audioMs,
      words: inTurn ? [...words] : [],
      confidence: this.confidence(),
    };
  }

  private confidence(): number {
    if (this.speechRunMs > 0 || this.phase === 'initial') return SPEAKING_CONFIDENCE;
    const silenceMs = this.audioMs - this.lastSpeechEndMs;
    const { eagerMs, finalMs } = this.timing;
    const eot = this.thresholds.eotThreshold;
    const eager = this.thresholds.eagerEotThreshold ?? (eot * eagerMs) / Math.max(1, finalMs);
    const value =
      silenceMs <= eagerMs
        ? (eager * silenceMs) / Math.max(1, eagerMs)
        : eager + ((eot - eager) * (silenceMs - eagerMs)) / Math.max(1, finalMs - eagerMs);
    return Math.round(Math.min(1, Math.max(SPEAKING_CONFIDENCE, value)) * 10_000) / 10_000;
  }
}
