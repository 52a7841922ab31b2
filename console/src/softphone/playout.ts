/**
 * The page's playout (jitter) buffer for the agent's audio, at the AudioContext's rate. Twilio semantics: a mark is
 * reached when the audio queued before it has been played (at once when nothing is queued); `clear` drops every
 * queued sample at once and reaches every pending mark without playing it.
 *
 * Playout starts when `targetMs` is buffered, or earlier when the end of the segment is known (a mark is queued
 * after the audio): TTS audio arrives faster than real time, so the target only absorbs network jitter. Running dry
 * with audio after the last mark is an underrun (a segment starved mid-way); running dry at a mark is its end.
 */

export interface PlayoutRead {
  /** Marks whose audio finished playing during this read, in order. */
  marks: string[];
  /** Samples of queued audio written to the output (the rest is silence). */
  samples: number;
}

export interface PlayoutStats {
  underruns: number;
  /** Samples of agent audio played since the start. */
  playedSamples: number;
  bufferedSamples: number;
}

export class PlayoutBuffer {
  private readonly chunks: Float32Array[] = [];
  /** Read offset into `chunks[0]`. */
  private offset = 0;
  /** Samples ever queued / ever played or dropped: positions on one timeline. */
  private written = 0;
  private read = 0;
  private marks: Array<{ name: string; at: number }> = [];
  /** Where the most recent mark was queued (a queue running dry there is a segment's end, not an underrun). */
  private lastMarkAt = 0;
  private playing = false;
  private readonly targetSamples: number;
  underruns = 0;
  /** Samples of queued audio played so far. */
  playedSamples = 0;

  constructor(
    readonly rate: number,
    targetMs = 80,
  ) {
    this.targetSamples = Math.round((rate * targetMs) / 1000);
  }

  get bufferedSamples(): number {
    return this.written - this.read;
  }

  get stats(): PlayoutStats {
    return { underruns: this.underruns, playedSamples: this.playedSamples, bufferedSamples: this.bufferedSamples };
  }

  enqueue(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.chunks.push(samples);
    this.written += samples.length;
  }

  /** Queues a mark after the audio queued so far; returns it at once when nothing is left to play. */
  mark(name: string): string[] {
    this.lastMarkAt = this.written;
    if (this.bufferedSamples === 0) return [name];
    this.marks.push({ name, at: this.written });
    return [];
  }

  /** Drops all queued audio; returns the pending marks (to echo now, unplayed). */
  clear(): string[] {
    const names = this.marks.map((m) => m.name);
    this.chunks.length = 0;
    this.offset = 0;
    this.read = this.written;
    this.lastMarkAt = this.written;
    this.marks = [];
    this.playing = false;
    return names;
  }

  /** Fills `out` with the next samples (silence where there are none) and reports the marks reached. */
  readInto(out: Float32Array): PlayoutRead {
    if (!this.playing && (this.bufferedSamples >= this.targetSamples || (this.bufferedSamples > 0 && this.lastMarkAt === this.written))) {
      this.playing = true;
    }
    let filled = 0;
    if (this.playing) {
      while (filled < out.length && this.chunks.length > 0) {
        const chunk = this.chunks[0] as Float32Array;
        const take = Math.min(chunk.length - this.offset, out.length - filled);
        out.set(chunk.subarray(this.offset, this.offset + take), filled);
        filled += take;
        this.offset += take;
        if (this.offset === chunk.length) {
          this.chunks.shift();
          this.offset = 0;
        }
      }
      this.read += filled;
      this.playedSamples += filled;
      if (this.bufferedSamples === 0) {
        this.playing = false;
        if (this.read > this.lastMarkAt) this.underruns++;
      }
    }
    out.fill(0, filled);
    const reached: string[] = [];
    while (this.marks.length > 0 && (this.marks[0]?.at ?? Infinity) <= this.read) reached.push((this.marks.shift() as { name: string }).name);
    return { marks: reached, samples: filled };
  }
}
