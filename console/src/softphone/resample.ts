/**
 * Streaming sample-rate conversion between the AudioContext's rate (48 kHz or 44.1 kHz) and the line's 8 kHz.
 * Linear interpolation at fractional positions, with an 8th-order Butterworth low-pass at 3.4 kHz (the telephone
 * band) on the high-rate side: before decimating (anti-aliasing) and after interpolating (anti-imaging). State is
 * kept across chunks, so any chunking (128-sample render quanta, 160-byte frames) gives the same stream.
 */

/** One biquad section (RBJ cookbook low-pass), direct form I. */
class LowPassSection {
  private readonly b0: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly a1: number;
  private readonly a2: number;
  private x1 = 0;
  private x2 = 0;
  private y1 = 0;
  private y2 = 0;

  constructor(rate: number, cutoff: number, q: number) {
    const w = (2 * Math.PI * cutoff) / rate;
    const alpha = Math.sin(w) / (2 * q);
    const cos = Math.cos(w);
    const a0 = 1 + alpha;
    this.b0 = (1 - cos) / 2 / a0;
    this.b1 = (1 - cos) / a0;
    this.b2 = this.b0;
    this.a1 = (-2 * cos) / a0;
    this.a2 = (1 - alpha) / a0;
  }

  process(x: number): number {
    const y = this.b0 * x + this.b1 * this.x1 + this.b2 * this.x2 - this.a1 * this.y1 - this.a2 * this.y2;
    this.x2 = this.x1;
    this.x1 = x;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

/** Four sections with Butterworth Qs: a flat pass band, -48 dB/octave beyond the cutoff (a 6 kHz alias is < -35 dB). */
export class TelephoneLowPass {
  private readonly sections: LowPassSection[];

  constructor(rate: number, cutoff = 3400) {
    this.sections = [0.5098, 0.6013, 0.9, 2.5629].map((q) => new LowPassSection(rate, cutoff, q));
  }

  processInPlace(samples: Float32Array): Float32Array {
    for (let i = 0; i < samples.length; i++) {
      let v = samples[i] ?? 0;
      for (const s of this.sections) v = s.process(v);
      samples[i] = v;
    }
    return samples;
  }
}

/** Resamples a stream chunk by chunk; `process` returns as many output samples as the input so far allows. */
export class StreamResampler {
  private readonly step: number;
  /** Position of the next output sample in input samples, relative to the current chunk (-1 = the previous sample). */
  private pos = 0;
  private prev = 0;
  private readonly filter: TelephoneLowPass;
  private readonly down: boolean;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    if (!(fromRate > 0 && toRate > 0)) throw new Error(`bad sample rates ${fromRate} → ${toRate}`);
    this.step = fromRate / toRate;
    this.down = toRate < fromRate;
    this.filter = new TelephoneLowPass(Math.max(fromRate, toRate));
  }

  process(chunk: Float32Array): Float32Array {
    const input = this.down ? this.filter.processInPlace(Float32Array.from(chunk)) : chunk;
    const n = input.length;
    if (n === 0) return new Float32Array(0);
    const out = new Float32Array(Math.max(0, Math.ceil((n - this.pos) / this.step) + 1));
    let count = 0;
    while (this.pos < n - 1 && count < out.length) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = i < 0 ? this.prev : (input[i] ?? 0);
      const b = input[i + 1] ?? 0;
      out[count++] = a + (b - a) * frac;
      this.pos += this.step;
    }
    this.pos -= n;
    this.prev = input[n - 1] ?? 0;
    const result = out.subarray(0, count);
    return this.down ? result : this.filter.processInPlace(result);
  }
}
