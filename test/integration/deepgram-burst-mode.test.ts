/**
 * Burst mode of the STT simulator: real (non-codec) audio is transcribed burst by burst as the scripted phrases, on
 * the wire exactly like the decoding mode (interim results, speech_final at the endpoint), and the mode is off
 * unless asked for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import alawmulaw from 'alawmulaw';
import { deepgramSimOptionsFromEnv, startDeepgramSimulator, type DeepgramSimulator } from '../../offline/deepgram.js';
import { BurstTranscriber, parseBurstPhrases } from '../../offline/speech-bursts.js';
import { silence } from '../../lib/mulaw.js';

const LISTEN = '/v1/listen?model=nova-2&encoding=mulaw&sample_rate=8000&channels=1&interim_results=true&endpointing=300&utterance_end_ms=1000&vad_events=true&smart_format=true';

/** A vowel-like burst: a 150 Hz tone with harmonics, in 180 ms syllables separated by 60 ms dips. */
function burst(ms: number): Buffer {
  const samples = new Int16Array(ms * 8);
  for (let i = 0; i < samples.length; i++) {
    const t = i / 8000;
    const inSyllable = (i / 8) % 240 < 180;
    const v = Math.sin(2 * Math.PI * 150 * t) + 0.5 * Math.sin(2 * Math.PI * 450 * t) + 0.3 * Math.sin(2 * Math.PI * 900 * t);
    samples[i] = inSyllable ? Math.round(v * 8000) : 0;
  }
  return Buffer.from(alawmulaw.mulaw.encode(samples));
}

let sim: DeepgramSimulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

async function finals(phrases: readonly string[] | undefined, audio: Buffer[]): Promise<string[]> {
  sim = await startDeepgramSimulator({ burstPhrases: phrases });
  const ws = new WebSocket(`${sim.url}${LISTEN}`, { headers: { Authorization: 'Token k' } });
  const speechFinal: string[] = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { type: string; speech_final?: boolean; channel?: { alternatives: { transcript: string }[] } };
    if (msg.type === 'Results' && msg.speech_final) speechFinal.push(msg.channel?.alternatives[0]?.transcript ?? '');
  });
  await new Promise((resolve) => ws.once('open', resolve));
  for (const chunk of audio) ws.send(chunk);
  ws.send(JSON.stringify({ type: 'CloseStream' }));
  await new Promise((resolve) => ws.once('close', resolve));
  return speechFinal;
}

describe('STT simulator burst mode', () => {
  it('transcribes each burst as the next phrase, syllable dips and all, and wraps around the script', async () => {
    const turn = (ms: number) => [burst(ms), silence(600)];
    const heard = await finals(['What are your hours?', 'Thanks, bye.'], [silence(200), ...turn(1200), ...turn(400), ...turn(800)]);
    expect(heard).toEqual(['What are your hours?', 'Thanks, bye.', 'What are your hours?']);
  });

  it('is off by default: the same bursts decode to no words', async () => {
    expect(await finals(undefined, [burst(1200), silence(600)])).toEqual(['']);
  });

  it('words come out as the burst goes on, the rest at its first pause, nothing more until the gap has passed', () => {
    const t = new BurstTranscriber(['one two three four'], { gapMs: 300, msPerWord: 200 });
    expect(t.push(true, 20)).toBe('one ');
    for (let ms = 40; ms < 200; ms += 20) expect(t.push(true, 20)).toBe('');
    expect(t.push(true, 20)).toBe('two ');
    expect(t.push(false, 20)).toBe('three four ');
    expect(t.push(true, 20)).toBe(''); // a dip within the burst
    for (let ms = 0; ms < 300; ms += 20) t.push(false, 20);
    expect(t.push(true, 20)).toBe('one ');
    expect(t.bursts).toBe(2);
  });

  it('DEEPGRAM_SIM_BURST_PHRASES is a |-separated list', () => {
    expect(parseBurstPhrases(' hi there | | what are your hours|')).toEqual(['hi there', 'what are your hours']);
    expect(parseBurstPhrases(' | ')).toBeUndefined();
    expect(deepgramSimOptionsFromEnv({ DEEPGRAM_SIM_BURST_PHRASES: 'a|b' }).burstPhrases).toEqual(['a', 'b']);
    expect(deepgramSimOptionsFromEnv({}).burstPhrases).toBeUndefined();
  });
});
