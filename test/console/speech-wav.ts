/**
 * A WAV for Chromium's fake microphone (`--use-file-for-fake-audio-capture`): silence, then speech-like bursts — a
 * voiced source with moving pitch, vowel-like formants and syllable envelopes, loud enough for any level detector,
 * shaped so the browser's noise suppression and gain control treat it as a voice. Deterministic (no randomness).
 */
import fs from 'node:fs';

const RATE = 48_000;

export interface Burst {
  atMs: number;
  ms: number;
}

function speechSample(t: number, phase: number): number {
  const f0 = 120 + 25 * Math.sin(2 * Math.PI * 2.5 * t);
  let v = 0;
  for (let k = 1; k * f0 < 3600; k++) {
    const f = k * f0;
    const formants = 1 + 3 * Math.exp(-(((f - 700) / 180) ** 2)) + 2 * Math.exp(-(((f - 1200) / 220) ** 2)) + Math.exp(-(((f - 2500) / 300) ** 2));
    v += (formants / k) * Math.sin(k * phase);
  }
  return v;
}

/** 16-bit PCM mono samples of `totalMs`, speech in each burst (220 ms syllables, 50 ms dips), digital silence else. */
export function speechSamples(totalMs: number, bursts: readonly Burst[]): Int16Array {
  const out = new Int16Array(Math.round((RATE * totalMs) / 1000));
  const raw = new Float32Array(out.length);
  let phase = 0;
  let peak = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    const ms = t * 1000;
    const burst = bursts.find((b) => ms >= b.atMs && ms < b.atMs + b.ms);
    phase += (2 * Math.PI * (120 + 25 * Math.sin(2 * Math.PI * 2.5 * t))) / RATE;
    if (!burst) continue;
    const inBurst = ms - burst.atMs;
    const syllable = inBurst % 270;
    const envelope = syllable < 220 ? Math.sin((Math.PI * syllable) / 220) ** 0.6 : 0;
    const edge = Math.min(1, inBurst / 20, (burst.ms - inBurst) / 20);
    raw[i] = speechSample(t, phase) * envelope * edge;
    peak = Math.max(peak, Math.abs(raw[i] ?? 0));
  }
  const gain = peak > 0 ? (0.45 * 32767) / peak : 0;
  for (let i = 0; i < out.length; i++) out[i] = Math.round((raw[i] ?? 0) * gain);
  return out;
}

export function writeWav(file: string, samples: Int16Array, rate = RATE): void {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([header, data]));
}
