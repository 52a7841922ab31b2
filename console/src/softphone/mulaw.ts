/**
 * G.711 µ-law, 8 kHz, the telephone codec Twilio streams. Written out here (the same algorithm as the server's
 * `alawmulaw`, checked against it sample by sample in the unit tests) because that package's browser and Node
 * entry points export differently, and the worklet bundle should stay dependency-free.
 */

const BIAS = 0x84;
const CLIP = 32635;

/** Exponent of a biased magnitude, by its top byte. */
const EXPONENT = Uint8Array.from({ length: 256 }, (_, i) => (i === 0 ? 0 : Math.min(7, Math.floor(Math.log2(i)))));

/** Linear 16-bit value of each µ-law byte. */
export const MULAW_TO_LINEAR = Int16Array.from({ length: 256 }, (_, byte) => {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = (((u & 0x0f) << 3) + BIAS) << exponent;
  return u & 0x80 ? BIAS - magnitude : magnitude - BIAS;
});

/** µ-law byte of a linear 16-bit sample. */
export function encodeMulawSample(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = (s >> 8) & 0x80;
  if (sign !== 0) s = -s;
  s = Math.min(s + BIAS, CLIP);
  const exponent = EXPONENT[(s >> 7) & 0xff] ?? 0;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Float samples (-1 … 1) → µ-law bytes. */
export function encodeMulaw(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encodeMulawSample((samples[i] ?? 0) * 32767);
  return out;
}

/** µ-law bytes → float samples (-1 … 1). */
export function decodeMulaw(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (MULAW_TO_LINEAR[bytes[i] ?? 0xff] ?? 0) / 32768;
  return out;
}

/** µ-law of silence. */
export const MULAW_SILENCE = 0xff;
