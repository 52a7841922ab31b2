/** G.711 µ-law helpers for Twilio's 8 kHz mono audio (codec from the `alawmulaw` package). */
import alawmulaw from 'alawmulaw';

const { mulaw } = alawmulaw;

export const SAMPLE_RATE = 8000;
/** µ-law is one byte per sample: 8 bytes per millisecond at 8 kHz. */
export const BYTES_PER_MS = SAMPLE_RATE / 1000;
/** Twilio sends 20 ms frames. */
export const FRAME_MS = 20;
export const FRAME_BYTES = FRAME_MS * BYTES_PER_MS;
/** µ-law encoding of a zero sample. */
export const MULAW_SILENCE = 0xff;

export function silence(ms: number): Buffer {
  return Buffer.alloc(Math.round(ms * BYTES_PER_MS), MULAW_SILENCE);
}

/** The squared linear value of each µ-law byte: a level check costs one lookup per sample. */
const SQUARES = Float64Array.from({ length: 256 }, (_, byte) => mulaw.decodeSample(byte) ** 2);

/** Root-mean-square level of a µ-law chunk on the 16-bit linear scale (0 … 32767). */
export function rms(chunk: Uint8Array): number {
  if (chunk.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < chunk.length; i++) sum += SQUARES[chunk[i] as number] as number;
  return Math.sqrt(sum / chunk.length);
}

/** Level above which a frame counts as speech (≈ -30 dBFS). */
export const SPEECH_RMS_THRESHOLD = 1000;

/** The chunk is loud enough to be speech. */
export function isSpeech(chunk: Uint8Array): boolean {
  return chunk.length > 0 && rms(chunk) >= SPEECH_RMS_THRESHOLD;
}
