/**
 * "Simulated speech": real, loud µ-law audio whose samples also carry the spoken text, so the offline world stays
 * wire-faithful. The caller simulator speaks text as this audio over the Twilio media stream; the STT simulator
 * hears it (energy → speech/silence, decoded bytes → words) exactly as Deepgram would receive it; the TTS simulator
 * answers with the same kind of audio, so the caller can tell which words it actually heard before a `clear`.
 *
 * Encoding (all loud samples, so any level detector sees speech):
 * - each UTF-8 byte of the text = two samples: 0x00|highNibble then 0x80|lowNibble (µ-law exponent 7, ±16–32k);
 * - filler samples 0x10 / 0x90 (±16k) stretch the audio to the wanted duration and decode to nothing;
 * - anything else (silence 0xFF, real noise) decodes to nothing and resets a half-read byte.
 */

const HI = 0x00;
const LO = 0x80;
const FILLER_A = 0x10;
const FILLER_B = 0x90;

/** Audio of `durationMs` (≥ 2 samples per byte of text) whose data decodes to `text`. */
export function encodeSpeech(text: string, durationMs: number): Buffer {
  const data = Buffer.from(text, 'utf8');
  const samples = Math.max(Math.round(durationMs * 8), data.length * 2);
  const out = Buffer.alloc(samples);
  // Spread the data pairs evenly so a partial chunk carries a proportional part of the text.
  const stride = data.length === 0 ? samples : Math.floor(samples / data.length);
  let pos = 0;
  for (let i = 0; i < data.length; i++) {
    const start = i * stride;
    for (; pos < start; pos++) out[pos] = pos % 2 === 0 ? FILLER_A : FILLER_B;
    const byte = data[i] as number;
    out[pos++] = HI | (byte >> 4);
    out[pos++] = LO | (byte & 0x0f);
  }
  for (; pos < samples; pos++) out[pos] = pos % 2 === 0 ? FILLER_A : FILLER_B;
  return out;
}

/** Streaming decoder: feed any chunking of simulated speech, read back the text decoded so far. */
export class SpeechDecoder {
  private high = -1;
  private bytes: number[] = [];
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false });
  private text = '';

  push(chunk: Uint8Array): string {
    let added = false;
    for (let i = 0; i < chunk.length; i++) {
      const s = chunk[i] as number;
      if ((s & 0xf0) === HI) {
        this.high = s & 0x0f;
      } else if ((s & 0xf0) === LO && this.high >= 0) {
        this.bytes.push((this.high << 4) | (s & 0x0f));
        this.high = -1;
        added = true;
      } else if (s !== FILLER_A && s !== FILLER_B) {
        this.high = -1;
      }
    }
    if (added) {
      this.text += this.utf8.decode(Uint8Array.from(this.bytes), { stream: true });
      this.bytes = [];
    }
    return this.text;
  }

  /** Text decoded since the last `take()`, which resets the decoder's text. */
  take(): string {
    const t = this.text;
    this.text = '';
    return t;
  }

  peek(): string {
    return this.text;
  }
}

/**
 * Noise (a cough, a TV): simulated speech whose words an STT simulator shows in its interim results and then revises
 * away, so the final transcript is empty, as a real recogniser does with sounds that are not words. Each word carries
 * this mark in the audio.
 */
export const NOISE_MARK = '~';

/** `the dog` → `~the ~dog`: said as noise. */
export function asNoise(text: string): string {
  return text
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .map((word) => `${NOISE_MARK}${word}`)
    .join(' ');
}

export const isNoiseWord = (token: string): boolean => token.startsWith(NOISE_MARK);
export const withoutNoiseMark = (token: string): string => (isNoiseWord(token) ? token.slice(NOISE_MARK.length) : token);
