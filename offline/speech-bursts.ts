/**
 * Burst mode of the STT simulator (`/v1/listen`): the simulated-speech codec does not survive a real audio path (a
 * browser resamples, filters and re-encodes the microphone), so in this mode the simulator ignores what the audio
 * says and transcribes each speech-energy burst as the next phrase of a script. A burst starts with a speech frame
 * (the simulator's level threshold) and ends after `gapMs` of silence — the endpointing delay, so one burst is one
 * utterance. Its words come out as the burst goes on (one per `msPerWord` of speech), and whatever is left at its
 * first pause, so the utterance is complete before the endpoint. The script wraps around at its end.
 */

export interface BurstTranscriberOptions {
  /** Silence that ends a burst (default 300 ms, the server's default endpointing). */
  gapMs?: number;
  /** Speech per emitted word while the burst lasts (default 200 ms). */
  msPerWord?: number;
}

/** `a|b|c` → ['a', 'b', 'c'] (blank entries dropped); undefined when no phrase is left. */
export function parseBurstPhrases(raw: string | undefined): string[] | undefined {
  const phrases = (raw ?? '').split('|').map((p) => p.trim()).filter((p) => p.length > 0);
  return phrases.length > 0 ? phrases : undefined;
}

/** Turns the speech/silence decision of each frame into text, the way `SpeechDecoder` turns samples into text. */
export class BurstTranscriber {
  private readonly gapMs: number;
  private readonly msPerWord: number;
  private next = 0;
  private inBurst = false;
  private pending: string[] = [];
  private speechMs = 0;
  private emitted = 0;
  private silenceMs = 0;
  /** Bursts heard so far (one per phrase used). */
  bursts = 0;

  constructor(
    private readonly phrases: readonly string[],
    opts: BurstTranscriberOptions = {},
  ) {
    if (phrases.length === 0) throw new Error('burst mode needs at least one phrase');
    this.gapMs = opts.gapMs ?? 300;
    this.msPerWord = Math.max(1, opts.msPerWord ?? 200);
  }

  /** One frame of `frameMs`: returns the text it "said" (words each followed by a space, or ''). */
  push(speech: boolean, frameMs: number): string {
    if (!speech) return this.onSilence(frameMs);
    this.silenceMs = 0;
    if (!this.inBurst) this.startBurst();
    this.speechMs += frameMs;
    const due = Math.min(this.pending.length, Math.floor(this.speechMs / this.msPerWord) + 1);
    return this.emit(due - this.emitted);
  }

  private onSilence(frameMs: number): string {
    if (!this.inBurst) return '';
    this.silenceMs += frameMs;
    if (this.silenceMs >= this.gapMs) this.inBurst = false;
    // The first pause says the rest: the utterance is whole before endpointing can end it.
    return this.emit(this.pending.length - this.emitted);
  }

  private startBurst(): void {
    const phrase = this.phrases[this.next % this.phrases.length] ?? '';
    this.next++;
    this.bursts++;
    this.inBurst = true;
    this.pending = phrase.split(/\s+/).filter((w) => w.length > 0);
    this.emitted = 0;
    this.speechMs = 0;
  }

  private emit(count: number): string {
    if (count <= 0) return '';
    const words = this.pending.slice(this.emitted, this.emitted + count);
    this.emitted += words.length;
    return words.map((w) => `${w} `).join('');
  }
}
