/**
 * The line's framing: 8 kHz µ-law in 20 ms frames of 160 bytes, as Twilio sends a caller's audio. Resampled
 * microphone audio arrives in uneven pieces (21 or 22 samples per render quantum at 48 kHz); whole frames go out.
 */
import { encodeMulaw } from './mulaw.js';

export const LINE_RATE = 8000;
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (LINE_RATE * FRAME_MS) / 1000;

export interface LineFrame {
  /** 160 µ-law bytes. */
  payload: Uint8Array;
  /** RMS level of the frame, 0 … 1 (for the level meter). */
  level: number;
}

export class LineFramer {
  private readonly pending = new Float32Array(FRAME_SAMPLES);
  private filled = 0;

  /** Adds 8 kHz samples; returns the frames they completed (often none, at most a few). */
  push(samples: Float32Array): LineFrame[] {
    const frames: LineFrame[] = [];
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(FRAME_SAMPLES - this.filled, samples.length - at);
      this.pending.set(samples.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === FRAME_SAMPLES) {
        frames.push({ payload: encodeMulaw(this.pending), level: rmsLevel(this.pending) });
        this.filled = 0;
      }
    }
    return frames;
  }
}

export function rmsLevel(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += (samples[i] ?? 0) ** 2;
  return Math.sqrt(sum / samples.length);
}
